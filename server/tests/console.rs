//! The admin console's server side: `/api/v1/me` lists the caller's permissions as the
//! matrix grants them (what the console's navigation follows), and `/ui` serves the
//! embedded single-page app (or, built without `ui/dist`, the page saying how to build it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use switchyard_server::rbac::{Permission, Role, allows};

use common::app::{TestApp, request};
use common::sqlite_url;

fn permissions(me: &Value) -> Vec<&str> {
    me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn me_lists_each_roles_permissions_from_the_matrix() {
    let app = TestApp::new(&sqlite_url()).await;
    for role in Role::ALL {
        let (s, me) = app
            .call("GET", "/api/v1/me", Some(&app.tokens[&role]), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{me}");
        let expected: Vec<&str> = Permission::ALL
            .into_iter()
            .filter(|p| allows(role, *p))
            .map(Permission::as_str)
            .collect();
        assert_eq!(permissions(&me), expected, "{}", role.as_str());
    }
    // The first admin is also a server operator: the tenant permissions join its role's.
    let (_, me) = app
        .call("GET", "/api/v1/me", Some(&app.admin_a), None)
        .await;
    let held = permissions(&me);
    assert!(
        held.contains(&"tenant.create") && held.contains(&"user.write"),
        "{me}"
    );
    assert!(
        !permissions(
            &app.call(
                "GET",
                "/api/v1/me",
                Some(&app.tokens[&Role::InfraAdmin]),
                None
            )
            .await
            .1
        )
        .contains(&"tenant.read")
    );
}

#[tokio::test]
async fn a_department_binding_lists_only_what_a_department_can_grant() {
    let app = TestApp::new(&sqlite_url()).await;
    let token = app
        .user_with(
            "scoped-ops",
            json!([{"role": "model_ops", "department_id": app.root_a}]),
        )
        .await;
    let (_, me) = app.call("GET", "/api/v1/me", Some(&token), None).await;
    // model_ops holds config.read tenant-wide only; at a department, just its reads of
    // departments, apps and their logged calls remain.
    assert_eq!(
        permissions(&me),
        ["department.read", "app.read", "call_log.read"],
        "{me}"
    );
    let (s, _) = app.call("GET", "/api/v1/configs", Some(&token), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn ui_serves_the_app_for_every_path_under_it() {
    let app = TestApp::new(&sqlite_url()).await;
    let (s, _, headers) = app.send(request("GET", "/ui", None, None)).await;
    assert_eq!(s, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers[header::LOCATION], "/ui/");

    let (s, index, headers) = app.send(request("GET", "/ui/", None, None)).await;
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    // A deep link is the same page: the app's router takes it from there.
    let (s2, deep, _) = app.send(request("GET", "/ui/configs/3", None, None)).await;
    assert_eq!((s2, &deep), (s, &index));
    let index = index.as_str().unwrap();
    let missing = app
        .send(request("GET", "/ui/assets/gone-1234.js", None, None))
        .await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);

    if let Some(at) = index.find("/ui/assets/") {
        // Built with `make ui`: the page names its hashed assets, served for a year.
        assert_eq!(s, StatusCode::OK);
        let path = &index[at..];
        let path = &path[..path.find('"').unwrap()];
        let (s, body, headers) = app.send(request("GET", path, None, None)).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(!body.as_str().unwrap_or_default().is_empty());
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(if path.ends_with(".js") {
                    "text/javascript"
                } else {
                    "text/css"
                }),
            "{path}"
        );
    } else {
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(index.contains("make ui"), "{index}");
    }
}
