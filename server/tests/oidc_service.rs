//! Service identities: a JWT access token from the tenant's OpenID provider (client
//! credentials, against the real `tests/oidc-provider`) on the management API, mapped to
//! roles by `client` rules; the refusals are 401 and security events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::oidc::{API_AUDIENCE, TestIdp, connect_services};
use serde_json::{Value, json};

/// The kinds of tenant A's security events.
async fn event_kinds(app: &common::app::TestApp) -> Vec<String> {
    let (_, events) = app
        .call(
            "GET",
            "/api/v1/security-events?limit=200",
            Some(&app.admin_a),
            None,
        )
        .await;
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str().map(String::from))
        .collect()
}

async fn client_rule(app: &common::app::TestApp, client: &str, role: &str, dept: Option<&str>) {
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/sso/rules",
            Some(&app.admin_a),
            Some(json!({"kind": "client", "group": client, "role": role, "department_id": dept})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "client");
}

/// `method path` as `token` is refused with 403.
async fn forbidden(
    app: &common::app::TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) {
    let (s, b) = app.call(method, path, Some(token), body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {b}");
}

async fn started(app: &common::app::TestApp, base: &str, services: &[&str]) -> Option<TestIdp> {
    connect_services(app, base, json!({}), services).await
}

/// A service with a resource_manager rule reads departments, is refused a write (403), and is seen
/// by `/me` as `service:<client>`; one with infra_admin creates a department, audited
/// under its client's name; a client with no rule holds nothing.
#[tokio::test]
async fn a_service_calls_the_api_with_the_roles_its_rules_give() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = started(&app, &base, &["billing-batch", "deployer", "stranger"]).await
        else {
            return;
        };
        client_rule(&app, "billing-batch", "resource_manager", None).await;
        client_rule(&app, "deployer", "infra_admin", None).await;

        let token = idp.service_token("billing-batch").await;
        let (s, me) = app.call("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(s, StatusCode::OK, "{me}");
        assert_eq!(me["username"], "service:billing-batch");
        assert_eq!(me["tenant_id"], app.tenant_a.as_str());
        assert_eq!(me["operator"], false);
        assert_eq!(me["bindings"][0]["role"], "resource_manager");
        let (s, body) = app
            .call("GET", "/api/v1/departments", Some(&token), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let by_billing = Some(json!({"name": "by-billing"}));
        forbidden(&app, "POST", "/api/v1/departments", &token, by_billing).await;

        let deployer = idp.service_token("deployer").await;
        let (s, body) = app
            .call(
                "POST",
                "/api/v1/departments",
                Some(&deployer),
                Some(json!({"name": "by-deployer"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let (_, audit) = app
            .call("GET", "/api/v1/audit?limit=500", Some(&app.admin_a), None)
            .await;
        let entry = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["target"] == body["id"] || e["target_id"] == body["id"])
            .unwrap_or_else(|| panic!("no audit entry for {body}: {audit}"));
        assert_eq!(entry["actor"], "service:deployer", "{entry}");
        assert_eq!(entry["role"], "infra_admin", "{entry}");

        // A service has no user: it cannot issue itself a personal token, and its
        // provider's token is not the server's to revoke.
        let named = Some(json!({"name": "t"}));
        forbidden(&app, "POST", "/api/v1/auth/tokens", &deployer, named).await;
        forbidden(&app, "POST", "/api/v1/auth/logout", &deployer, None).await;

        // No rule names it: authenticated, but every permission is refused.
        let stranger = idp.service_token("stranger").await;
        let (s, me) = app.call("GET", "/api/v1/me", Some(&stranger), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me["bindings"], json!([]));
        forbidden(&app, "GET", "/api/v1/departments", &stranger, None).await;
        server.abort();
    }
}

/// Wrong audience, expired, signed with an unpublished key, another issuer, and a
/// person's ID-token-shaped JWT of no known issuer: each 401 and a security event; an
/// untampered token right after still works.
#[tokio::test]
async fn bad_service_tokens_are_refused_and_recorded() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = started(&app, &base, &["billing-batch"]).await else {
            return;
        };
        client_rule(&app, "billing-batch", "resource_manager", None).await;
        let past = switchyard_server::util::now_ms() / 1000 - 3600;
        for (claims, foreign, why) in [
            (
                json!({"aud": "https://another.test/api"}),
                false,
                "audience",
            ),
            (json!({"exp": past, "iat": past - 60}), false, "expired"),
            (json!({}), true, "signature"),
        ] {
            idp.tamper_next(claims.clone(), foreign).await;
            let token = idp.service_token("billing-batch").await;
            let (s, body) = app
                .call("GET", "/api/v1/departments", Some(&token), None)
                .await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{claims}: {body}");
            let kind = format!("auth.failed.oidc.{why}");
            assert!(
                event_kinds(&app).await.contains(&kind),
                "{kind} not recorded"
            );
        }
        // An issuer no tenant has: refused before any key is fetched; the event has no
        // tenant, so it is counted where the server's own events are.
        idp.tamper_next(json!({"iss": "http://127.0.0.1:1"}), false)
            .await;
        let token = idp.service_token("billing-batch").await;
        let (s, _) = app
            .call("GET", "/api/v1/departments", Some(&token), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM security_events WHERE tenant_id IS NULL \
             AND kind = 'auth.failed.oidc.issuer'",
        )
        .fetch_one(&app.store.db.pool)
        .await
        .unwrap();
        assert_eq!(n, 1);

        let token = idp.service_token("billing-batch").await;
        let (s, body) = app
            .call("GET", "/api/v1/departments", Some(&token), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        server.abort();
    }
}

/// The provider rotates its keys (the old ones unpublished): a token under the new key
/// is refused (`unknown_key`, a security event) only within the refetch interval of the
/// last key fetch; after it the key set is fetched again and calls keep working, and
/// again after a second rotation.
#[tokio::test]
async fn service_calls_survive_the_providers_key_rotation() {
    use std::time::Duration;
    let interval = Duration::from_secs(2);
    for app in common::app::apps().await {
        let app = app.with_oidc_refetch(interval);
        let (base, server) = app.listen().await;
        let Some(idp) = started(&app, &base, &["billing-batch"]).await else {
            return;
        };
        client_rule(&app, "billing-batch", "resource_manager", None).await;
        let before = idp.service_token("billing-batch").await;
        let (s, _) = app
            .call("GET", "/api/v1/departments", Some(&before), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let old_kids = idp.kids().await;
        idp.rotate_keys().await;
        assert!(idp.kids().await.iter().all(|k| !old_kids.contains(k)));
        let after = idp.service_token("billing-batch").await;
        assert_ne!(kid_of(&before), kid_of(&after));
        let (s, _) = app
            .call("GET", "/api/v1/departments", Some(&after), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "within the refetch interval");
        assert!(
            event_kinds(&app)
                .await
                .contains(&"auth.failed.oidc.unknown_key".to_owned())
        );
        tokio::time::sleep(interval).await;
        let (s, body) = app
            .call("GET", "/api/v1/departments", Some(&after), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        tokio::time::sleep(interval).await;
        idp.rotate_keys().await;
        let again = idp.service_token("billing-batch").await;
        let (s, body) = app
            .call("GET", "/api/v1/departments", Some(&again), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        server.abort();
    }
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// Two tenants with the same issuer and API audience: a service token cannot name its
/// tenant and is refused (`auth.failed.oidc.ambiguous`, never guessed); with an audience
/// of its own for the second tenant, the first tenant's services work again.
#[tokio::test]
async fn an_issuer_and_audience_shared_by_two_tenants_is_refused() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = started(&app, &base, &["billing-batch"]).await else {
            return;
        };
        client_rule(&app, "billing-batch", "resource_manager", None).await;
        let put_b = |audience: &str| {
            json!({"issuer": idp.issuer, "client_id": "switchyard-b",
                "redirect_uri": format!("{base}/api/v1/auth/oidc/callback"),
                "api_audience": audience})
        };
        let (s, body) = app
            .call(
                "PUT",
                "/api/v1/sso",
                Some(&app.token_b),
                Some(put_b(API_AUDIENCE)),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let token = idp.service_token("billing-batch").await;
        let (s, _) = app
            .call("GET", "/api/v1/departments", Some(&token), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM security_events WHERE kind = 'auth.failed.oidc.ambiguous'",
        )
        .fetch_one(&app.store.db.pool)
        .await
        .unwrap();
        assert_eq!(n, 1);
        let (s, _) = app
            .call(
                "PUT",
                "/api/v1/sso",
                Some(&app.token_b),
                Some(put_b("https://globex.test/api")),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, me) = app.call("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(s, StatusCode::OK, "{me}");
        assert_eq!(me["tenant_id"], app.tenant_a.as_str());
        server.abort();
    }
}

/// A tenant that sets no `api_audience` accepts no service tokens, and the API audience
/// may not be the console's client id (a person's ID token would pass for a service's).
#[tokio::test]
async fn service_tokens_need_the_tenants_api_audience() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = started(&app, &base, &["billing-batch"]).await else {
            return;
        };
        client_rule(&app, "billing-batch", "resource_manager", None).await;
        let (_, sso) = app
            .call("GET", "/api/v1/sso", Some(&app.admin_a), None)
            .await;
        assert_eq!(sso["api_audience"], API_AUDIENCE);
        let put = |audience: Value| {
            json!({"issuer": idp.issuer, "client_id": "switchyard",
                "redirect_uri": format!("{base}/api/v1/auth/oidc/callback"),
                "api_audience": audience})
        };
        let (s, body) = app
            .call(
                "PUT",
                "/api/v1/sso",
                Some(&app.admin_a),
                Some(put(json!("switchyard"))),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (s, _) = app
            .call(
                "PUT",
                "/api/v1/sso",
                Some(&app.admin_a),
                Some(put(Value::Null)),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let token = idp.service_token("billing-batch").await;
        let (s, _) = app
            .call("GET", "/api/v1/departments", Some(&token), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        server.abort();
    }
}
