//! Tenant creation and the tenant list: server operators only; the new tenant starts
//! whole (root department, infra_admin, one-time token), audited in its own log, and is as
//! closed to the operator as any other tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::rbac::Role;
use switchyard_server::store::audit_log as audit;

use common::app::{PASSWORD, TestApp};
use common::databases;

#[tokio::test]
async fn an_operator_creates_a_tenant_and_sees_nothing_inside_it() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let operator = Some(app.admin_a.as_str());
        let (_, me) = app.call("GET", "/api/v1/me", operator, None).await;
        assert_eq!(
            me["operator"], true,
            "{backend}: the first tenant's admin is an operator"
        );
        let (_, me_b) = app
            .call("GET", "/api/v1/me", Some(&app.token_b), None)
            .await;
        assert_eq!(me_b["operator"], false, "{backend}");

        let (s, created) = app
            .call(
                "POST",
                "/api/v1/tenants",
                operator,
                Some(json!({"tenant": "initech", "username": "boss"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{backend}: {created}");
        let token = created["token"].as_str().unwrap().to_owned();
        let password = created["password"].as_str().unwrap().to_owned();
        assert!(token.starts_with("syp_") && password.len() >= 12);
        assert_eq!(created["admin"]["operator"], false);

        // The new admin works in the new tenant, with a password too.
        let boss = Some(token.as_str());
        let (s, me) = app.call("GET", "/api/v1/me", boss, None).await;
        assert_eq!(
            (
                s,
                me["tenant_id"].clone(),
                me["bindings"][0]["role"].clone()
            ),
            (
                StatusCode::OK,
                created["tenant"]["id"].clone(),
                json!("infra_admin")
            )
        );
        let (s, _) = app.login("initech", "boss", &password).await;
        assert_eq!(s, StatusCode::CREATED, "{backend}");
        let (_, depts) = app.call("GET", "/api/v1/departments", boss, None).await;
        assert_eq!(depts["items"][0]["name"], "root");
        // It is not an operator: it may not create tenants, nor list them.
        for (method, body) in [
            ("GET", None),
            ("POST", Some(json!({"tenant": "x", "username": "y"}))),
        ] {
            let (s, _) = app.call(method, "/api/v1/tenants", boss, body).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{backend} {method}");
        }

        // Tenancy holds both ways: the operator sees nothing inside the new tenant, and
        // the new tenant nothing of the operator's.
        let fx = app.fixture(1).await;
        let (s, _) = app
            .call("GET", &format!("/api/v1/apps/{}", fx.app), boss, None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{backend}");
        let (_, apps) = app.call("GET", "/api/v1/apps", boss, None).await;
        assert_eq!(apps["items"], json!([]));
        let (s, _) = app
            .call(
                "GET",
                &format!("/api/v1/users/{}", created["admin"]["id"].as_str().unwrap()),
                operator,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{backend}");
        let (_, departments) = app.call("GET", "/api/v1/departments", operator, None).await;
        assert!(
            !departments
                .to_string()
                .contains(depts["items"][0]["id"].as_str().unwrap()),
            "{backend}"
        );

        // The list: operators only, names and ids.
        let (s, list) = app.call("GET", "/api/v1/tenants", operator, None).await;
        assert_eq!(s, StatusCode::OK);
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["acme", "globex", "initech"], "{backend}");
        assert_eq!(
            list["items"][0].as_object().unwrap().len(),
            3,
            "id, name, created_at only"
        );
        for token in [app.token_b.as_str(), &app.tokens[&Role::SecurityEngineer]] {
            let (s, _) = app.call("GET", "/api/v1/tenants", Some(token), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{backend}");
        }

        // Audited in the new tenant's own log, by the operator.
        let (s, log) = app
            .call("GET", "/api/v1/audit?action=tenant.create", boss, None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let rec = &log["items"][0];
        assert_eq!(
            (
                rec["actor"].as_str(),
                rec["role"].as_str(),
                rec["target"].clone()
            ),
            (
                Some("admin"),
                Some("operator"),
                created["tenant"]["id"].clone()
            ),
            "{backend}: {log}"
        );
        let mut conn = app.store.db.pool.acquire().await.unwrap();
        let keys = app.store.db.audit_keys();
        let report = audit::verify_keyed(&mut conn, None, keys.as_deref())
            .await
            .unwrap();
        assert_eq!(report.problem, None);
    }
}

#[tokio::test]
async fn tenant_creation_names_the_field_at_fault_and_leaves_nothing_behind() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let operator = Some(app.admin_a.as_str());
        let post = |body: Value| app.call("POST", "/api/v1/tenants", operator, Some(body));
        let field = |r: (StatusCode, Value)| (r.0, r.1["field"].as_str().map(str::to_owned));
        let cases = [
            (
                json!({"tenant": "acme", "username": "x"}),
                StatusCode::CONFLICT,
                "tenant",
            ),
            (
                json!({"tenant": " ", "username": "x"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "tenant",
            ),
            (
                json!({"tenant": "new", "username": ""}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "username",
            ),
            (
                json!({"tenant": "new", "username": "x", "password": "short"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "password",
            ),
            (
                json!({"tenant": "new", "username": "x", "operator": true}),
                StatusCode::BAD_REQUEST,
                "operator",
            ),
            (json!({"username": "x"}), StatusCode::BAD_REQUEST, "tenant"),
        ];
        for (body, status, name) in cases {
            assert_eq!(
                field(post(body.clone()).await),
                (status, Some(name.to_owned())),
                "{backend}: {body}"
            );
        }
        let (_, list) = app.call("GET", "/api/v1/tenants", operator, None).await;
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            2,
            "{backend}: no half-made tenant"
        );
        let (s, created) =
            post(json!({"tenant": "new", "username": "x", "password": PASSWORD})).await;
        assert_eq!(s, StatusCode::CREATED);
        assert!(
            created["password"].is_null(),
            "a given password is not echoed"
        );
    }
}
