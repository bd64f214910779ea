//! Every route × every role, against the matrix in `rbac.rs`; and every route probed from
//! another tenant: nothing of tenant A is reachable, and nothing tells it exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use switchyard_server::api::ROUTES;
use switchyard_server::rbac::{Role, allows};

use common::app::TestApp;
use common::databases;

/// Every route as every role of `app.tokens`: what differs from the matrix.
async fn walk_routes(app: &TestApp, backend: &str) -> Vec<String> {
    let mut n = 0;
    let mut failures = Vec::new();
    for (method, path, permission) in ROUTES {
        for role in Role::ALL {
            n += 1;
            let fx = app.fixture_for(n, path).await;
            let uri = path.replace("{id}", fx.id_for(path)) + fx.query_for(path);
            let (status, body) = app
                .call(
                    method,
                    &uri,
                    Some(&app.tokens[&role]),
                    fx.body_for(method, path),
                )
                .await;
            let expected_allow = allows(role, *permission);
            let ok = if expected_allow {
                status.is_success()
            } else {
                status == StatusCode::FORBIDDEN
            };
            if !ok {
                failures.push(format!(
                    "{backend} {method} {path} as {}: {status} {body}",
                    role.as_str()
                ));
            }
        }
    }
    assert_eq!(n, ROUTES.len() * 6);
    failures
}

#[tokio::test]
async fn every_route_allows_and_denies_exactly_as_the_matrix_says() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let mut failures = walk_routes(&app, backend).await;
        let mut n = ROUTES.len() * 6;
        // Operator-only routes: the operator flag allows them (tenant A's first admin has
        // it); tenant B's infra_admin, without the flag, is refused like every role.
        for (method, path, permission) in ROUTES.iter().filter(|r| r.2.operator_only()) {
            n += 1;
            let fx = app.fixture(n).await;
            let body = fx.body_for(method, path);
            let (status, b) = app
                .call(method, path, Some(&app.admin_a), body.clone())
                .await;
            if !status.is_success() {
                failures.push(format!(
                    "{backend} {method} {path} ({}) as operator: {status} {b}",
                    permission.as_str()
                ));
            }
            let (status, b) = app.call(method, path, Some(&app.token_b), body).await;
            if status != StatusCode::FORBIDDEN {
                failures.push(format!(
                    "{backend} {method} {path} as a non-operator infra_admin: {status} {b}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

/// The same walk with principals that came through the tenant's OpenID provider: one
/// person per role at the real provider, in a group the tenant's rules map to that role,
/// signed in through the console's flow; their session tokens stand in for the
/// hand-bound users' tokens.
#[tokio::test]
async fn the_matrix_holds_for_principals_signed_in_through_the_provider() {
    use common::oidc::{connect, console_sign_in, fragment_token};
    use serde_json::json;
    for (backend, url) in databases().await {
        let mut app = TestApp::new(&url).await;
        let (base, server) = app.listen().await;
        let users: serde_json::Map<String, serde_json::Value> = Role::ALL
            .into_iter()
            .map(|r| {
                let name = format!("sso-{}", r.as_str());
                let claims =
                    json!({"preferred_username": name, "groups": [format!("g-{}", r.as_str())]});
                (name, json!({"password": "pw", "claims": claims}))
            })
            .collect();
        let Some(_idp) = connect(&app, &base, serde_json::Value::Object(users)).await else {
            return;
        };
        for role in Role::ALL {
            let (s, body) = app
                .call(
                    "POST",
                    "/api/v1/sso/rules",
                    Some(&app.admin_a),
                    Some(json!({"group": format!("g-{}", role.as_str()), "role": role.as_str()})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{body}");
        }
        for role in Role::ALL {
            let (_, _, to_console) =
                console_sign_in(&base, &format!("sso-{}", role.as_str()), "pw").await;
            let token = fragment_token(&to_console);
            let (_, me) = app.call("GET", "/api/v1/me", Some(&token), None).await;
            assert_eq!(me["bindings"][0]["role"], role.as_str(), "{me}");
            app.tokens.insert(role, token);
        }
        let failures = walk_routes(&app, backend).await;
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
        server.abort();
    }
}

/// The same walk with service identities: one client credentials client per role at the
/// real provider, a `client` rule mapping each to its role; their JWT access tokens stand
/// in for the users' tokens.
#[tokio::test]
async fn the_matrix_holds_for_service_identities() {
    use common::oidc::connect_services;
    use serde_json::json;
    for (backend, url) in databases().await {
        let mut app = TestApp::new(&url).await;
        let (base, server) = app.listen().await;
        let clients: Vec<String> = Role::ALL
            .into_iter()
            .map(|r| format!("svc-{}", r.as_str()))
            .collect();
        let names: Vec<&str> = clients.iter().map(String::as_str).collect();
        let Some(idp) = connect_services(&app, &base, json!({}), &names).await else {
            return;
        };
        for role in Role::ALL {
            let client = format!("svc-{}", role.as_str());
            let (s, body) = app
                .call(
                    "POST",
                    "/api/v1/sso/rules",
                    Some(&app.admin_a),
                    Some(json!({"kind": "client", "group": client, "role": role.as_str()})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{body}");
            let token = idp.service_token(&client).await;
            let (_, me) = app.call("GET", "/api/v1/me", Some(&token), None).await;
            assert_eq!(me["username"], format!("service:{client}"), "{me}");
            assert_eq!(me["bindings"][0]["role"], role.as_str(), "{me}");
            app.tokens.insert(role, token);
        }
        let failures = walk_routes(&app, backend).await;
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
        server.abort();
    }
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_id_and_sees_nothing_in_lists() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let mut failures = Vec::new();
        for (i, (method, path, _)) in ROUTES.iter().enumerate() {
            let fx = app.fixture_for(i, path).await;
            // Usage of tenant A's app, for the reports to leak if they could.
            let e = common::usage::event(common::usage::T0, "chat", "d", 0.5, 10.0);
            let (s, ack) = common::usage::post(&app, &fx.key_secret, &[e], false).await;
            assert_eq!(s, StatusCode::OK, "{ack}");
            if *method == "PUT" && *path == "/api/v1/prices/{id}" {
                // Keyed by a model name, which no tenant owns: tenant B's PUT sets tenant
                // B's own override (checked below), never tenant A's.
                continue;
            }
            if path.contains("{id}") {
                // Tenant B's infra_admin may do everything, in tenant B only.
                let theirs = path.replace("{id}", fx.id_for(path));
                let missing = path.replace("{id}", "nope_0000");
                let body = fx.body_for(method, path);
                let (s1, b1) = app
                    .call(method, &theirs, Some(&app.token_b), body.clone())
                    .await;
                let (s2, b2) = app.call(method, &missing, Some(&app.token_b), body).await;
                if s1 != StatusCode::NOT_FOUND || (s1, &b1) != (s2, &b2) {
                    failures.push(format!(
                        "{backend} {method} {path}: {s1} {b1} vs missing {s2} {b2}"
                    ));
                }
            } else if *method == "GET" {
                let uri = format!("{path}{}", fx.query_for(path));
                let (status, body) = app.call(method, &uri, Some(&app.token_b), None).await;
                let text = body.to_string();
                for id in [
                    &fx.dept,
                    &fx.app,
                    &fx.key,
                    &fx.user,
                    &fx.provider,
                    &fx.version,
                    &fx.budget,
                    &fx.limit,
                    &fx.price_model,
                    &fx.channel,
                    &fx.health_rule,
                    &fx.cost_rule,
                    &fx.security_rule,
                    &fx.call_log,
                    &fx.sso_rule,
                    &app.tenant_a,
                ] {
                    if !id.is_empty() && text.contains(id.as_str()) {
                        failures.push(format!(
                            "{backend} GET {path} ({status}) shows tenant A's {id}"
                        ));
                    }
                }
            }
        }
        // The reports' department filter: tenant A's department is unknown to tenant B.
        let fx = app.fixture(999).await;
        for route in [
            "/api/v1/usage?",
            "/api/v1/costs/report?period=2026-11&",
            "/api/v1/costs/chargeback?period=2026-11&",
        ] {
            let theirs = format!("{route}department={}", fx.dept);
            let missing = format!("{route}department=nope_0000");
            let (s1, b1) = app.call("GET", &theirs, Some(&app.token_b), None).await;
            let (s2, b2) = app.call("GET", &missing, Some(&app.token_b), None).await;
            if s1 != StatusCode::NOT_FOUND || (s1, &b1) != (s2, &b2) {
                failures.push(format!(
                    "{backend} {theirs}: {s1} {b1} vs missing {s2} {b2}"
                ));
            }
        }
        // Writes that name tenant A's objects in the body are refused like unknown ids.
        let fx = app.fixture(1000).await;
        let (status, body) = app
            .call(
                "POST",
                "/api/v1/apps",
                Some(&app.token_b),
                Some(serde_json::json!({"department_id": fx.dept, "name": "x"})),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("department_id"))
        );
        // Tenant B setting a price of the model tenant A overrides changes A's nothing.
        let (status, _) = app
            .call(
                "PUT",
                &format!("/api/v1/prices/{}", fx.price_model),
                Some(&app.token_b),
                Some(serde_json::json!({"input": 9.0, "output": 9.0})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, mine) = app
            .call("GET", "/api/v1/prices", Some(&app.admin_a), None)
            .await;
        let ours = mine
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["model"] == fx.price_model.as_str())
            .unwrap();
        assert_eq!(ours["input"], 1.0);
        // A budget naming tenant A's department or app is refused like an unknown one.
        for (scope, id) in [("department", &fx.dept), ("app", &fx.app)] {
            let (status, body) = app
                .call(
                    "POST",
                    "/api/v1/budgets",
                    Some(&app.token_b),
                    Some(
                        serde_json::json!({"name": "x", "scope": scope, "scope_ref": id,
                        "period": "day", "amount_usd": 1.0, "mode": "hard"}),
                    ),
                )
                .await;
            assert_eq!(
                (status, body["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("scope_ref")),
                "{body}"
            );
        }
        // An app key of tenant A sees tenant A's config only (identity says so).
        let (status, body) = app
            .call("GET", "/sdk/v1/config", Some(&fx.key_secret), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["identity"]["tenant"], app.tenant_a.as_str());
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

#[test]
fn the_docs_list_every_route_with_its_permission() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/permissions.md"
    ))
    .unwrap();
    for (method, path, permission) in ROUTES {
        let row = format!("| {method} | `{path}` | `{}` |", permission.as_str());
        assert!(doc.contains(&row), "docs/permissions.md lacks {row}");
    }
}

/// Every management route outside the matrix (the sign-in routes, `/api/v1/me`) is listed
/// in docs/permissions.md as not permission-checked, so that no route escapes both.
#[test]
fn every_route_outside_the_matrix_is_listed_as_unchecked() {
    use utoipa::OpenApi;
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/permissions.md"
    ))
    .unwrap();
    let unchecked = doc
        .split("Not permission-checked:")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("docs/permissions.md has a \"Not permission-checked:\" paragraph")
        .replace('\n', " ");
    let api = switchyard_server::api::openapi::ApiDoc::openapi();
    let mut outside = Vec::new();
    for (path, item) in api.paths.paths.iter() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in methods {
            if present && !ROUTES.iter().any(|(m, p, _)| *m == method && p == path) {
                outside.push(format!("{method} {path}"));
                assert!(
                    unchecked.contains(&format!("`{method} {path}`")),
                    "{method} {path} is neither in the matrix nor listed as not permission-checked"
                );
            }
        }
    }
    // The sign-in routes among them: the test looked at what it should.
    for route in [
        "POST /api/v1/auth/login",
        "GET /api/v1/auth/oidc/callback",
        "POST /api/v1/auth/oidc/device",
        "POST /api/v1/auth/oidc/device/token",
    ] {
        assert!(outside.iter().any(|r| r == route), "{route}: {outside:?}");
    }
}
