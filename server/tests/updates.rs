//! PATCH of apps, departments and users: partial updates, strict bodies, field-named
//! errors, moves (and cycles refused), the lockout guard, and one audit record per change
//! whose before-digest is the previous record's after-digest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::rbac::Role;
use switchyard_server::store::{AuditFilter, AuditRecord, Page};

use common::app::{PASSWORD, TestApp};
use common::databases;

async fn apps() -> Vec<(&'static str, TestApp)> {
    let mut apps = Vec::new();
    for (backend, url) in databases().await {
        apps.push((backend, TestApp::new(&url).await));
    }
    apps
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// Tenant A's audit records of `action` on `target`, oldest first.
async fn audit_of(app: &TestApp, action: &str, target: &str) -> Vec<AuditRecord> {
    let mut records: Vec<AuditRecord> = app
        .store
        .tenant(&app.tenant_a)
        .list_audit(
            &AuditFilter::action(action),
            Page::new(Some(500), None).unwrap(),
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.target == target)
        .collect();
    records.reverse();
    records
}

/// `(status, field)` of a response, for compact error assertions.
fn err(r: (StatusCode, Value)) -> (StatusCode, Option<String>) {
    (r.0, r.1["field"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn apps_are_patched_field_by_field() {
    for (backend, app) in apps().await {
        let admin = Some(app.admin_a.as_str());
        let fx = app.fixture(1).await;
        let other = app.fixture(2).await;
        let path = format!("/api/v1/apps/{}", fx.app);
        let patch = |body: Value| app.call("PATCH", &path, admin, Some(body));
        // The SDK has fetched its config once: the resolution for this app is cached.
        let sdk_models = || async {
            let (s, sdk) = app
                .call("GET", "/sdk/v1/config", Some(&fx.key_secret), None)
                .await;
            assert_eq!(s, StatusCode::OK);
            let models: Vec<String> = sdk["models"].as_object().unwrap().keys().cloned().collect();
            (models, sdk["identity"]["app"].clone())
        };
        assert_eq!(sdk_models().await.0, ["chat", "claude"]);

        let (s, renamed) = patch(json!({"name": "billing"})).await;
        assert_eq!(s, StatusCode::OK, "{backend}: {renamed}");
        assert_eq!(
            (
                renamed["name"].as_str(),
                renamed["department_id"].as_str(),
                renamed["secrets_mode"].as_str()
            ),
            (Some("billing"), Some(fx.dept.as_str()), Some("none")),
            "{backend}: only the name changes"
        );
        let (_, got) = app.call("GET", &path, admin, None).await;
        assert_eq!(got, renamed, "{backend}: the change is stored");

        // allowed_models: set, then cleared with null; absent leaves it alone.
        let (_, b) = patch(json!({"allowed_models": ["claude"]})).await;
        assert_eq!(b["allowed_models"], json!(["claude"]));
        let (_, b) = patch(json!({"secrets_mode": "direct"})).await;
        assert_eq!(
            (b["allowed_models"].clone(), b["secrets_mode"].as_str()),
            (json!(["claude"]), Some("direct"))
        );
        // The SDK config follows at once (the cached resolution is not served stale).
        assert_eq!(
            sdk_models().await,
            (vec!["claude".to_owned()], json!("billing")),
            "{backend}"
        );
        let (_, b) = patch(json!({"allowed_models": null, "secrets_mode": "none"})).await;
        assert!(b["allowed_models"].is_null(), "{backend}: {b}");

        // Strict bodies, every error naming its field.
        assert_eq!(
            err(patch(json!({"colour": "red"})).await),
            (StatusCode::BAD_REQUEST, Some("colour".into()))
        );
        assert_eq!(
            err(patch(json!({"name": null})).await),
            (StatusCode::BAD_REQUEST, Some("name".into())),
            "{backend}: a name cannot be cleared"
        );
        assert_eq!(
            err(patch(json!({"secrets_mode": "sometimes"})).await),
            (StatusCode::BAD_REQUEST, Some("secrets_mode".into()))
        );
        assert_eq!(
            err(patch(json!({"name": " "})).await),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("name".into()))
        );
        assert_eq!(
            err(patch(json!({"name": "x".repeat(201)})).await),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("name".into()))
        );
        assert_eq!(
            err(patch(json!({"name": "app2"})).await),
            (StatusCode::CONFLICT, Some("name".into())),
            "{backend}: another app's name"
        );
        assert_eq!(
            err(patch(json!({"department_id": "dep_nope"})).await),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("department_id".into())
            )
        );
        let (s, _) = app
            .call(
                "PATCH",
                "/api/v1/apps/app_nope",
                admin,
                Some(json!({"name": "z"})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // A move to another department.
        let (s, moved) = patch(json!({"department_id": other.dept})).await;
        assert_eq!(
            (s, moved["department_id"].as_str()),
            (StatusCode::OK, Some(other.dept.as_str()))
        );

        // One record per change, none for the refused ones or a no-op, digests chained.
        let (s, _) = patch(json!({"name": "billing"})).await;
        assert_eq!(s, StatusCode::OK, "{backend}: a no-op is fine");
        let updates = audit_of(&app, "app.update", &fx.app).await;
        assert_eq!(updates.len(), 5, "{backend}: {updates:?}");
        let created = audit_of(&app, "app.create", &fx.app).await;
        let mut previous = created[0].after_digest.clone();
        for u in &updates {
            assert_eq!(u.before_digest, previous, "{backend}");
            assert_ne!(u.before_digest, u.after_digest);
            assert_eq!(
                (u.actor.as_str(), u.role.as_str()),
                ("admin", "infra_admin")
            );
            previous = u.after_digest.clone();
        }
    }
}

#[tokio::test]
async fn a_department_scoped_developer_patches_inside_its_scope_only() {
    for (backend, app) in apps().await {
        let admin = Some(app.admin_a.as_str());
        let inside = app.fixture(1).await;
        let outside = app.fixture(2).await;
        let dev = app
            .user_with(
                "dev",
                json!([{"role": "interface_dev", "department_id": inside.dept}]),
            )
            .await;
        let token = Some(dev.as_str());
        let (s, _) = app
            .call(
                "PATCH",
                &format!("/api/v1/apps/{}", inside.app),
                token,
                Some(json!({"name": "mine"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{backend}");
        let (s, _) = app
            .call(
                "PATCH",
                &format!("/api/v1/apps/{}", outside.app),
                token,
                Some(json!({"name": "theirs"})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{backend}: out of scope");
        // Moving its app out of its reach is refused like an unknown department.
        let r = app
            .call(
                "PATCH",
                &format!("/api/v1/apps/{}", inside.app),
                token,
                Some(json!({"department_id": outside.dept})),
            )
            .await;
        assert_eq!(
            err(r),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("department_id".into())
            ),
            "{backend}"
        );
        let (_, still) = app
            .call("GET", &format!("/api/v1/apps/{}", inside.app), admin, None)
            .await;
        assert_eq!(still["department_id"], inside.dept.as_str());
    }
}

#[tokio::test]
async fn departments_are_renamed_and_moved_but_never_into_a_cycle() {
    for (backend, app) in apps().await {
        let admin = Some(app.admin_a.as_str());
        let create = |name: &str, parent: &str| {
            app.call(
                "POST",
                "/api/v1/departments",
                admin,
                Some(json!({"name": name, "parent_id": parent})),
            )
        };
        let (_, d1) = create("d1", &app.root_a).await;
        let (_, d1a) = create("d1a", id(&d1)).await;
        let (_, d2) = create("d2", &app.root_a).await;
        let patch = |dept: &Value, body: Value| {
            let path = format!("/api/v1/departments/{}", id(dept));
            let app = &app;
            async move { app.call("PATCH", &path, admin, Some(body)).await }
        };

        let (s, b) = patch(&d2, json!({"name": "payments"})).await;
        assert_eq!(
            (s, b["name"].as_str(), b["parent_id"].as_str()),
            (StatusCode::OK, Some("payments"), Some(app.root_a.as_str())),
            "{backend}"
        );
        // Moves: under a sibling, then refused under itself or its own descendant.
        let (s, b) = patch(&d2, json!({"parent_id": id(&d1a)})).await;
        assert_eq!(
            (s, b["parent_id"].as_str()),
            (StatusCode::OK, Some(id(&d1a)))
        );
        for (dept, parent) in [(&d1, &d1), (&d1, &d1a), (&d1, &d2)] {
            let r = patch(dept, json!({"parent_id": id(parent)})).await;
            assert_eq!(
                err(r),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("parent_id".into())),
                "{backend}: {} under {}",
                dept["name"],
                parent["name"]
            );
        }
        let root = json!({"id": app.root_a});
        let r = patch(&root, json!({"parent_id": id(&d2)})).await;
        assert_eq!(
            err(r),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("parent_id".into())),
            "{backend}: the root under a descendant"
        );
        assert_eq!(
            err(patch(&d1, json!({"parent_id": "dep_nope"})).await),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("parent_id".into()))
        );
        assert_eq!(
            err(patch(&d1, json!({"name": null})).await),
            (StatusCode::BAD_REQUEST, Some("name".into()))
        );
        assert_eq!(
            err(patch(&d1, json!({"owner": "me"})).await),
            (StatusCode::BAD_REQUEST, Some("owner".into()))
        );
        // To the top level with null.
        let (s, b) = patch(&d1, json!({"parent_id": null})).await;
        assert_eq!((s, b["parent_id"].clone()), (StatusCode::OK, Value::Null));
        // Tenant-wide write only: interface_dev may not.
        let (s, _) = app
            .call(
                "PATCH",
                &format!("/api/v1/departments/{}", id(&d1)),
                Some(&app.tokens[&Role::InterfaceDev]),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let moves = audit_of(&app, "department.update", id(&d2)).await;
        assert_eq!(
            moves.len(),
            2,
            "{backend}: rename and move, nothing refused"
        );
        assert_eq!(moves[1].before_digest, moves[0].after_digest);
        assert_eq!(audit_of(&app, "department.update", id(&d1)).await.len(), 1);
    }
}

#[tokio::test]
async fn a_move_carries_department_scoped_access_with_it() {
    for (backend, app) in apps().await {
        let admin = Some(app.admin_a.as_str());
        let moved = app.fixture(1).await;
        let team = app.fixture(2).await;
        let lead = app
            .user_with(
                "lead",
                json!([{"role": "app_developer", "department_id": team.dept}]),
            )
            .await;
        let token = Some(lead.as_str());
        let app_path = format!("/api/v1/apps/{}", moved.app);
        assert_eq!(
            app.call("GET", &app_path, token, None).await.0,
            StatusCode::NOT_FOUND
        );
        app.call(
            "PATCH",
            &format!("/api/v1/departments/{}", moved.dept),
            admin,
            Some(json!({"parent_id": team.dept})),
        )
        .await;
        assert_eq!(
            app.call("GET", &app_path, token, None).await.0,
            StatusCode::OK,
            "{backend}: the moved department is now under the binding's department"
        );
    }
}

#[tokio::test]
async fn users_are_renamed_disabled_and_rebound() {
    for (backend, app) in apps().await {
        let admin = Some(app.admin_a.as_str());
        let (s, user) = app
            .call(
                "POST",
                "/api/v1/users",
                admin,
                Some(json!({"username": "carol", "password": PASSWORD, "display_name": "Carol"})),
            )
            .await;
        assert_eq!(
            (s, user["display_name"].as_str()),
            (StatusCode::CREATED, Some("Carol"))
        );
        let path = format!("/api/v1/users/{}", id(&user));
        let patch = |body: Value| app.call("PATCH", &path, admin, Some(body));
        let (_, b) = app
            .call(
                "POST",
                &format!("{path}/bindings"),
                admin,
                Some(json!({"role": "interface_dev"})),
            )
            .await;
        let kept_id = id(&b).to_owned();
        let (_, login) = app.login("acme", "carol", PASSWORD).await;
        let carol = login["token"].as_str();

        let (s, b) = patch(json!({"display_name": "Carol D."})).await;
        assert_eq!(
            (
                s,
                b["display_name"].as_str(),
                b["bindings"][0]["id"].as_str()
            ),
            (StatusCode::OK, Some("Carol D."), Some(kept_id.as_str())),
            "{backend}: {b}"
        );
        let (_, b) = patch(json!({"display_name": null})).await;
        assert!(b["display_name"].is_null());

        // Bindings: the whole new set; a binding still wanted keeps its id.
        let (s, b) = patch(json!({"bindings": [
            {"role": "interface_dev"},
            {"role": "security_engineer"}
        ]}))
        .await;
        assert_eq!(s, StatusCode::OK, "{backend}: {b}");
        let roles: Vec<(&str, &str)> = b["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["role"].as_str().unwrap(), b["id"].as_str().unwrap()))
            .collect();
        assert_eq!(roles.len(), 2);
        assert!(roles.contains(&("interface_dev", kept_id.as_str())));
        assert_eq!(
            app.call("GET", "/api/v1/audit", carol, None).await.0,
            StatusCode::OK,
            "{backend}: the new role applies at once"
        );
        let (_, b) = patch(json!({"bindings": [{"role": "security_engineer"}]})).await;
        assert_eq!(b["bindings"].as_array().unwrap().len(), 1);
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/apps",
                carol,
                Some(json!({"department_id": app.root_a, "name": "x"})),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{backend}: the removed role is gone"
        );
        assert_eq!(
            err(
                patch(json!({"bindings": [{"role": "security_engineer"}, {"role": "emperor"}]}))
                    .await
            ),
            (StatusCode::BAD_REQUEST, Some("bindings[1].role".into()))
        );
        assert_eq!(
            err(patch(
                json!({"bindings": [{"role": "app_developer", "department_id": "dep_nope"}]})
            )
            .await),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("bindings[0].department_id".into())
            )
        );
        assert_eq!(
            err(patch(json!({"bindings": [{"role": "app_developer", "scope": "all"}]})).await),
            (StatusCode::BAD_REQUEST, Some("bindings[0].scope".into()))
        );
        assert_eq!(
            err(patch(json!({"disabled": "yes"})).await),
            (StatusCode::BAD_REQUEST, Some("disabled".into()))
        );
        assert_eq!(
            err(patch(json!({"password": "new one please"})).await),
            (StatusCode::BAD_REQUEST, Some("password".into()))
        );

        // Disabled: every token of the user stops at once; enabled again, they work.
        let (s, b) = patch(json!({"disabled": true})).await;
        assert_eq!((s, b["disabled"].as_bool()), (StatusCode::OK, Some(true)));
        assert_eq!(
            app.call("GET", "/api/v1/me", carol, None).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (s, _) = app.login("acme", "carol", PASSWORD).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{backend}");
        patch(json!({"disabled": false})).await;
        assert_eq!(
            app.call("GET", "/api/v1/me", carol, None).await.0,
            StatusCode::OK
        );

        let updates = audit_of(&app, "user.update", id(&user)).await;
        assert_eq!(updates.len(), 6, "{backend}: {updates:?}");
        for pair in updates.windows(2) {
            assert_eq!(pair[1].before_digest, pair[0].after_digest, "{backend}");
        }
    }
}

#[tokio::test]
async fn the_last_enabled_infra_admin_cannot_be_locked_out() {
    for (backend, app) in apps().await {
        let admin = Some(app.admin_a.as_str());
        // Tenant A has two tenant-wide infra_admins: "admin" and the matrix's infra_admin.
        let (_, users) = app.call("GET", "/api/v1/users", admin, None).await;
        let user_id = |name: &str| {
            users["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["username"] == name)
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .unwrap()
        };
        let (first, second) = (user_id("admin"), user_id("infra_admin"));
        let (s, _) = app
            .call(
                "PATCH",
                &format!("/api/v1/users/{second}"),
                admin,
                Some(json!({"disabled": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{backend}: another admin remains");
        let r = app
            .call(
                "PATCH",
                &format!("/api/v1/users/{first}"),
                admin,
                Some(json!({"disabled": true})),
            )
            .await;
        assert_eq!(
            err(r),
            (StatusCode::CONFLICT, Some("disabled".into())),
            "{backend}"
        );
        let r = app
            .call(
                "PATCH",
                &format!("/api/v1/users/{first}"),
                admin,
                Some(json!({"bindings": [{"role": "infra_admin", "department_id": app.root_a}]})),
            )
            .await;
        assert_eq!(
            err(r),
            (StatusCode::CONFLICT, Some("bindings".into())),
            "{backend}: a department-scoped infra_admin does not count"
        );
        // Nothing of the refused updates was kept.
        let (s, me) = app.call("GET", "/api/v1/me", admin, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me["bindings"][0]["department_id"], Value::Null);
        assert_eq!(me["bindings"].as_array().unwrap().len(), 1);
    }
}
