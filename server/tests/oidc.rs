//! Sign-in through an OpenID provider, against a real one (`tests/oidc-provider`, the
//! certified `oidc-provider` package) on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::oidc::{Browser, TestIdp, connect, console_sign_in, fragment_token, me_of};
use serde_json::{Value, json};
use sha2::Digest;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const CALLBACK: &str = "https://switchyard.example.com/api/v1/auth/oidc/callback";

fn idp_config() -> Value {
    json!({
        "clients": [{
            "client_id": "switchyard",
            "client_secret": "client-secret",
            "redirect_uris": [REDIRECT],
            "id_token_signed_response_alg": "ES256",
        }, {
            "client_id": "switchyard-rs",
            "client_secret": "client-secret",
            "redirect_uris": [REDIRECT],
            "id_token_signed_response_alg": "RS256",
        }],
        "users": {
            "alice": {"password": "alice-pw", "claims": {"groups": ["ai-platform-ops"], "email": "alice@example.com"}},
        },
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn claims_of(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The code flow by hand, as a relying party would run it: the provider's login page with
/// `user`'s credentials, then the token request. Answers the ID token.
async fn id_token_by_hand(idp: &TestIdp, client: &str, user: &str, password: &str) -> String {
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authorize = discovery["authorization_endpoint"].as_str().unwrap();
    let verifier = b64(b"a code verifier of at least forty-three characters");
    let challenge = b64(&sha2::Sha256::digest(verifier.as_bytes()));
    let url = format!(
        "{authorize}?client_id={client}&response_type=code&scope=openid%20groups%20email\
         &redirect_uri={REDIRECT}&state=s1&nonce=n1&code_challenge={challenge}&code_challenge_method=S256"
    );
    let back = Browser::default()
        .sign_in_at_provider(&url, user, password)
        .await
        .unwrap();
    assert!(
        back.starts_with(REDIRECT) && back.contains("state=s1"),
        "{back}"
    );
    let code = back
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap();
    let tokens: Value = reqwest::Client::new()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth(client, Some("client-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// The test provider itself: the code flow with PKCE through its login page, a wrong
/// password refused, the groups in the ID token, new keys after a rotation. What the
/// server's own SSO tests stand on.
#[tokio::test]
async fn the_test_provider_runs_the_code_flow_and_rotates_keys() {
    let Some(idp) = TestIdp::start(idp_config()).await else {
        return;
    };
    let authorize = format!(
        "{}/auth?client_id=switchyard&response_type=code&scope=openid&redirect_uri={REDIRECT}\
         &state=s&nonce=n&code_challenge={}&code_challenge_method=S256",
        idp.issuer,
        b64(&sha2::Sha256::digest(b"v"))
    );
    let refused = Browser::default()
        .sign_in_at_provider(&authorize, "alice", "wrong")
        .await;
    assert_eq!(refused, Err(401));

    let claims = claims_of(&id_token_by_hand(&idp, "switchyard", "alice", "alice-pw").await);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["groups"], json!(["ai-platform-ops"]));
    assert_eq!(claims["nonce"], "n1");
    assert_eq!(claims["aud"], "switchyard");

    let before = idp.kids().await;
    idp.rotate_keys().await;
    let after = idp.kids().await;
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|k| !before.contains(k)),
        "{before:?} {after:?}"
    );
}

/// The provider's real ID tokens, RS256 and ES256, validate against its published keys;
/// the same token is refused for another client, another nonce, or once expired.
#[tokio::test]
async fn the_providers_id_tokens_validate_and_are_refused_out_of_place() {
    use switchyard_server::oidc::ProviderCache;
    use switchyard_server::oidc::id_token::{Expected, TokenError, validate};
    let Some(idp) = TestIdp::start(idp_config()).await else {
        return;
    };
    let cache = ProviderCache::default();
    let issuer = cache.issuer(&idp.issuer).await.unwrap();
    let now = switchyard_server::util::now_ms() / 1000;
    for (client, alg) in [("switchyard", "ES256"), ("switchyard-rs", "RS256")] {
        let token = id_token_by_hand(&idp, client, "alice", "alice-pw").await;
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg);
        let expected = Expected {
            issuer: &idp.issuer,
            client_id: client,
            nonce: Some("n1"),
            access_token: false,
            now,
        };
        let claims = validate(&token, &issuer, &cache, &expected).await.unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.strings("groups"), ["ai-platform-ops"]);
        let other = Expected {
            client_id: "someone-else",
            ..expected.clone()
        };
        assert!(matches!(
            validate(&token, &issuer, &cache, &other).await,
            Err(TokenError::Audience)
        ));
        let replayed = Expected {
            nonce: Some("n2"),
            access_token: false,
            ..expected.clone()
        };
        assert!(matches!(
            validate(&token, &issuer, &cache, &replayed).await,
            Err(TokenError::Nonce)
        ));
        let later = Expected {
            now: claims.exp + 61,
            ..expected.clone()
        };
        assert!(matches!(
            validate(&token, &issuer, &cache, &later).await,
            Err(TokenError::Expired)
        ));
    }
}

/// The tenant's provider settings through the API: infra_admin sets them, the secret is
/// sealed (only a hint comes back, the row holds no clear text, the master-key rotation
/// reseals it), bad settings are refused naming the field, and every change is audited.
#[tokio::test]
async fn sso_settings_are_set_by_infra_admin_sealed_and_audited() {
    use axum::http::StatusCode;
    use switchyard_server::crypto::MasterKey;
    for app in common::app::apps().await {
        let admin = Some(app.admin_a.as_str());
        let (s, _) = app.call("GET", "/api/v1/sso", admin, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let settings = json!({
            "issuer": "https://login.example.com/realms/acme", "client_id": "switchyard",
            "redirect_uri": CALLBACK, "client_secret": "the-client-secret-9f3a", "scopes": ["openid", "groups"],
        });
        let (s, body) = app
            .call("PUT", "/api/v1/sso", admin, Some(settings.clone()))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["client_secret_hint"], "…9f3a");
        assert_eq!(body["groups_claim"], "groups");
        assert_eq!(body["sso_required"], false);
        assert!(!body.to_string().contains("the-client-secret"));
        let (_, read) = app.call("GET", "/api/v1/sso", admin, None).await;
        assert_eq!(read["issuer"], "https://login.example.com/realms/acme");
        assert_eq!(read["scopes"], json!(["openid", "groups"]));

        let (raw,): (String,) =
            sqlx::query_as("SELECT client_secret FROM sso_providers WHERE tenant_id = $1")
                .bind(&app.tenant_a)
                .fetch_one(&app.store.db.pool)
                .await
                .unwrap();
        assert!(raw.starts_with("v1:") && !raw.contains("the-client-secret"));
        let tenant = app.store.tenant(&app.tenant_a);
        let old = app.state.master_key.as_deref().unwrap();
        assert_eq!(
            tenant.open_sso_secret(Some(old)).await.unwrap().as_deref(),
            Some("the-client-secret-9f3a")
        );
        let new = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        app.store
            .rotate_master_key(&common::ctx(), old, &new)
            .await
            .unwrap();
        assert_eq!(
            tenant.open_sso_secret(Some(&new)).await.unwrap().as_deref(),
            Some("the-client-secret-9f3a")
        );
        assert!(tenant.open_sso_secret(Some(old)).await.is_err());

        // Without a secret the one set is kept; other fields change.
        let (s, body) = app
            .call(
                "PUT",
                "/api/v1/sso",
                admin,
                Some(json!({"issuer": "https://login.example.com/realms/acme",
                    "client_id": "switchyard", "redirect_uri": CALLBACK, "groups_claim": "roles",
                    "sso_required": true, "break_glass": ["admin"]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["client_secret_hint"], "…9f3a");
        assert_eq!(body["groups_claim"], "roles");
        assert_eq!(body["scopes"], json!(["openid", "profile", "email"]));

        for (bad, field) in [
            (
                json!({"issuer": "http://login.example.com", "client_id": "c", "redirect_uri": CALLBACK}),
                "issuer",
            ),
            (
                json!({"issuer": "https://x.example/?a=b", "client_id": "c", "redirect_uri": CALLBACK}),
                "issuer",
            ),
            (
                json!({"issuer": "not a url", "client_id": "c", "redirect_uri": CALLBACK}),
                "issuer",
            ),
            (
                json!({"issuer": "https://x.example", "client_id": " ", "redirect_uri": CALLBACK}),
                "client_id",
            ),
            (
                json!({"issuer": "https://x.example", "client_id": "c", "redirect_uri": CALLBACK, "scopes": ["email"]}),
                "scopes",
            ),
            (
                json!({"issuer": "https://x.example", "client_id": "c", "redirect_uri": CALLBACK, "sso_required": true}),
                "break_glass",
            ),
        ] {
            let (s, body) = app.call("PUT", "/api/v1/sso", admin, Some(bad)).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(body["field"], field, "{body}");
        }
        // A loopback issuer may be plain http (the tests' provider).
        let (s, _) = app
            .call(
                "PUT",
                "/api/v1/sso",
                admin,
                Some(json!({"issuer": "http://127.0.0.1:8080", "client_id": "c", "redirect_uri": CALLBACK})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);

        let model_ops = Some(app.tokens[&switchyard_server::rbac::Role::ModelOps].as_str());
        let (s, _) = app
            .call("PUT", "/api/v1/sso", model_ops, Some(settings))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let (s, _) = app.call("DELETE", "/api/v1/sso", admin, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app.call("GET", "/api/v1/sso", admin, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, audit) = app.call("GET", "/api/v1/audit?limit=50", admin, None).await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["action"].as_str())
            .filter(|a| a.starts_with("sso."))
            .collect();
        assert_eq!(actions, ["sso.delete", "sso.set", "sso.set", "sso.set"]);
    }
}

/// Discovery and the key cache against the real provider: the metadata's endpoints, a
/// key found by its id; after the provider rotates its keys, the new key id is refused
/// while the last fetch is younger than the refetch interval, then found by one refetch;
/// an issuer that differs from the discovery document's by a slash is refused.
#[tokio::test]
async fn discovery_and_the_key_cache_follow_the_providers_rotation() {
    use std::time::Duration;
    use switchyard_server::oidc::{OidcError, ProviderCache};
    let Some(idp) = TestIdp::start(idp_config()).await else {
        return;
    };
    let interval = Duration::from_secs(2);
    let cache = ProviderCache::new(interval);
    let issuer = cache.issuer(&idp.issuer).await.unwrap();
    assert_eq!(
        issuer.metadata.token_endpoint,
        format!("{}/token", idp.issuer)
    );
    assert_eq!(issuer.metadata.jwks_uri, format!("{}/jwks", idp.issuer));
    let kids = idp.kids().await;
    for kid in &kids {
        let key = issuer.key(&cache, Some(kid)).await.unwrap();
        assert_eq!(key.kid.as_deref(), Some(kid.as_str()));
    }
    assert!(matches!(
        issuer.key(&cache, Some("made-up")).await,
        Err(OidcError::UnknownKey { .. })
    ));
    tokio::time::sleep(interval).await;
    idp.rotate_keys().await;
    let rotated = idp.kids().await;
    let found = issuer.key(&cache, Some(&rotated[0])).await.unwrap();
    assert_eq!(found.kid.as_deref(), Some(rotated[0].as_str()));
    assert_eq!(issuer.key_refetches().await, 1);
    // The old keys are gone from the provider, so from the cache too.
    idp.rotate_keys().await;
    let again = idp.kids().await;
    assert!(matches!(
        issuer.key(&cache, Some(&again[1])).await,
        Err(OidcError::UnknownKey { .. })
    ));
    assert_eq!(
        issuer.key_refetches().await,
        1,
        "refetched within the interval"
    );
    tokio::time::sleep(interval).await;
    assert!(issuer.key(&cache, Some(&again[1])).await.is_ok());
    assert!(matches!(
        issuer.key(&cache, Some(&kids[0])).await,
        Err(OidcError::UnknownKey { .. })
    ));

    let slash = format!("{}/", idp.issuer);
    assert!(matches!(
        cache.issuer(&slash).await,
        Err(OidcError::IssuerMismatch { .. })
    ));
}

/// The console's sign-in against the real provider, through the server's own HTTP
/// routes: the session token works on the API as the provisioned user; the same person
/// is the same user next time; a local user of the same name is never taken over; the
/// callback cannot be replayed; a code the provider refuses sends the console an error;
/// the refusals are security events.
#[tokio::test]
async fn the_console_signs_in_through_the_provider() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let users = json!({
            "alice": {"password": "alice-pw", "claims": {"preferred_username": "alice",
                "name": "Alice A.", "groups": ["ai-platform-ops"]}},
            "carol-sub": {"password": "mallory-pw", "claims": {"preferred_username": "carol"}},
        });
        let Some(idp) = connect(&app, &base, users).await else {
            return;
        };
        let (callback, status, to_console) = console_sign_in(&base, "alice", "alice-pw").await;
        assert_eq!(status, 303);
        assert!(to_console.starts_with("/ui/apps#token="), "{to_console}");
        let (s, me) = me_of(&app, &to_console).await;
        assert_eq!(s, axum::http::StatusCode::OK, "{me}");
        assert_eq!(me["username"], "alice");
        let user_id = me["user_id"].as_str().unwrap().to_owned();

        // The callback again, with the browser's state cookie as it was (a replayed
        // state): refused.
        let sign_in_state = callback
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("state="))
            .unwrap();
        let replay = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(&callback)
            .header("cookie", format!("switchyard_oidc_state={sign_in_state}"))
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), 401);
        let (s, _) = me_of(&app, &to_console).await;
        assert_eq!(
            s,
            axum::http::StatusCode::OK,
            "the first session stays valid"
        );
        let (_, _, to_console) = console_sign_in(&base, "alice", "alice-pw").await;
        let (_, me) = me_of(&app, &to_console).await;
        assert_eq!(
            me["user_id"],
            user_id.as_str(),
            "the same person, the same user"
        );

        // A subject calling itself "carol" gets a user of its own, not the local carol.
        app.user_with("carol", json!([{"role": "infra_admin"}]))
            .await;
        let (_, _, to_console) = console_sign_in(&base, "carol-sub", "mallory-pw").await;
        let (_, me) = me_of(&app, &to_console).await;
        let name = me["username"].as_str().unwrap();
        assert!(name.starts_with("carol~"), "{me}");
        assert_eq!(me["bindings"], json!([]));
        let (s, _) = app.login("acme", "carol", common::app::PASSWORD).await;
        assert_eq!(
            s,
            axum::http::StatusCode::CREATED,
            "the local carol still signs in"
        );
        // An SSO user has no local password.
        let (s, _) = app.login("acme", name, "").await;
        assert_eq!(s, axum::http::StatusCode::UNAUTHORIZED);

        // Login CSRF: a callback URL from someone else's sign-in, opened in another
        // browser (no state cookie), is refused; the browser that started it still
        // finishes.
        let mut theirs = Browser::default();
        let (_, to_provider, _) = theirs
            .get(&format!("{base}/api/v1/auth/oidc/start?tenant=acme"))
            .await;
        let back = theirs
            .sign_in_at_provider(&to_provider.unwrap(), "alice", "alice-pw")
            .await
            .unwrap();
        let (status, _, _) = Browser::default().get(&back).await;
        assert_eq!(status, 401);
        let (status, to_console, _) = theirs.get(&back).await;
        assert_eq!(status, 303);
        assert!(to_console.unwrap().starts_with("/ui/#token="));

        // A client secret the provider does not know: the code is refused there.
        let (s, _) = app
            .call(
                "PUT",
                "/api/v1/sso",
                Some(&app.admin_a),
                Some(json!({"issuer": idp.issuer, "client_id": "switchyard",
                    "client_secret": "wrong", "redirect_uri": format!("{base}/api/v1/auth/oidc/callback"),
                    "scopes": ["openid"]})),
            )
            .await;
        assert_eq!(s, axum::http::StatusCode::OK);
        let (_, status, to_console) = console_sign_in(&base, "alice", "alice-pw").await;
        assert_eq!(status, 303);
        assert_eq!(to_console, "/ui/apps#sso_error=code");
        let (_, events) = app
            .call("GET", "/api/v1/security-events", Some(&app.admin_a), None)
            .await;
        let kinds: Vec<&str> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        assert!(kinds.contains(&"auth.failed.oidc.code"), "{kinds:?}");

        // The login page's question: does this tenant sign in through a provider?
        let (s, info) = app
            .call("GET", "/api/v1/auth/oidc/provider?tenant=acme", None, None)
            .await;
        assert_eq!(s, axum::http::StatusCode::OK);
        assert_eq!(info, json!({"name": "127.0.0.1", "sso_required": false}));
        let (s, _) = app
            .call(
                "GET",
                "/api/v1/auth/oidc/provider?tenant=globex",
                None,
                None,
            )
            .await;
        assert_eq!(s, axum::http::StatusCode::NOT_FOUND);

        // Not a way out of the console, and not for a tenant without a provider.
        let mut browser = Browser::default();
        for (query, want) in [
            ("tenant=acme&return_to=https://evil.example/", 422),
            ("tenant=acme&return_to=//evil.example/ui/", 422),
            ("tenant=globex", 404),
            ("tenant=nobody", 404),
        ] {
            let (status, _, body) = browser
                .get(&format!("{base}/api/v1/auth/oidc/start?{query}"))
                .await;
            assert_eq!(status, want, "{query}: {body}");
        }
        server.abort();
    }
}

/// Roles follow the provider's groups through the tenant's rules, at every sign-in: a
/// person in `ai-platform-ops` gets model_ops, in `finance` resource_manager on one
/// department only; removed from the group at the provider, the role is gone at the next
/// sign-in (from every session of that user), while a binding made by hand stays. Rules
/// are infra_admin's to write, and audited.
#[tokio::test]
async fn roles_follow_the_groups_at_every_sign_in() {
    use axum::http::StatusCode;
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let user = |groups: Value| {
            json!({"erin-sub": {"password": "erin-pw",
                "claims": {"preferred_username": "erin", "groups": groups}}})
        };
        let Some(idp) = connect(&app, &base, user(json!(["ai-platform-ops", "finance"]))).await
        else {
            return;
        };
        let admin = Some(app.admin_a.as_str());
        let fx = app.fixture(1).await;
        for rule in [
            json!({"group": "ai-platform-ops", "role": "model_ops"}),
            json!({"group": "finance", "role": "resource_manager", "department_id": fx.dept}),
            json!({"group": "nobody-has-this", "role": "infra_admin"}),
        ] {
            let (s, body) = app
                .call("POST", "/api/v1/sso/rules", admin, Some(rule))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{body}");
        }
        let model_ops = Some(app.tokens[&switchyard_server::rbac::Role::ModelOps].as_str());
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/sso/rules",
                model_ops,
                Some(json!({"group": "x", "role": "infra_admin"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, body) = app
            .call(
                "POST",
                "/api/v1/sso/rules",
                admin,
                Some(json!({"group": "x", "role": "model_ops", "department_id": "dep_nope"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        let (_, _, to_console) = console_sign_in(&base, "erin-sub", "erin-pw").await;
        let first = fragment_token(&to_console);
        let (_, me) = me_of(&app, &to_console).await;
        let mut roles: Vec<(String, Value)> = me["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["role"].as_str().unwrap().to_owned(),
                    b["department_id"].clone(),
                )
            })
            .collect();
        roles.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            roles,
            [
                ("model_ops".to_owned(), Value::Null),
                ("resource_manager".to_owned(), json!(fx.dept)),
            ]
        );
        // model_ops reads config versions; neither role reads the audit log.
        let (s, _) = app.call("GET", "/api/v1/configs", Some(&first), None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = app.call("GET", "/api/v1/audit", Some(&first), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // A binding made by hand beside them.
        let user_id = me["user_id"].as_str().unwrap();
        let (s, body) = app
            .call(
                "POST",
                &format!("/api/v1/users/{user_id}/bindings"),
                admin,
                Some(json!({"role": "security_engineer"})),
            )
            .await;
        assert!(s.is_success(), "{body}");

        // Out of ai-platform-ops at the provider: gone at the next sign-in.
        idp.set_users(user(json!(["finance"]))).await;
        let (s, _) = app.call("GET", "/api/v1/configs", Some(&first), None).await;
        assert_eq!(s, StatusCode::OK, "nothing changes before the next sign-in");
        let (_, _, to_console) = console_sign_in(&base, "erin-sub", "erin-pw").await;
        let (_, me) = me_of(&app, &to_console).await;
        let mut roles: Vec<&str> = me["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["role"].as_str().unwrap())
            .collect();
        roles.sort();
        assert_eq!(roles, ["resource_manager", "security_engineer"]);
        // The audit log now reads for the hand-made security_engineer binding, but
        // model_ops' config writes are gone, from the older session too.
        let (s, _) = app.call("GET", "/api/v1/audit", Some(&first), None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/configs",
                Some(&first),
                Some(json!({"document": common::app::config_doc(1.0)})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let (_, audit) = app
            .call("GET", "/api/v1/audit?limit=100", admin, None)
            .await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["action"].as_str())
            .collect();
        for action in ["sso.rule.create", "sso.provision", "sso.bindings.set"] {
            assert!(actions.contains(&action), "{action} not in {actions:?}");
        }
        assert_eq!(
            actions.iter().filter(|a| **a == "sso.bindings.set").count(),
            2,
            "written at the first sign-in and when the groups changed"
        );
        server.abort();
    }
}

/// The provider rotating its signing keys keeps the console's sign-in working: the new
/// key id is fetched at the next sign-in. Within the refetch interval of the last fetch
/// it is refused (`#sso_error=unknown_key`, a security event) rather than fetched again.
#[tokio::test]
async fn sign_in_survives_the_providers_key_rotation() {
    use std::time::Duration;
    let interval = Duration::from_secs(2);
    for app in common::app::apps().await {
        let app = app.with_oidc_refetch(interval);
        let (base, server) = app.listen().await;
        let users =
            json!({"frank": {"password": "frank-pw", "claims": {"preferred_username": "frank"}}});
        let Some(idp) = connect(&app, &base, users).await else {
            return;
        };
        let (_, _, to_console) = console_sign_in(&base, "frank", "frank-pw").await;
        assert!(to_console.contains("#token="), "{to_console}");
        idp.rotate_keys().await;
        let (_, _, to_console) = console_sign_in(&base, "frank", "frank-pw").await;
        assert_eq!(to_console, "/ui/apps#sso_error=unknown_key");
        tokio::time::sleep(interval).await;
        let (_, _, to_console) = console_sign_in(&base, "frank", "frank-pw").await;
        let (s, me) = me_of(&app, &to_console).await;
        assert_eq!(s, axum::http::StatusCode::OK, "{to_console}");
        assert_eq!(me["username"], "frank");
        // And again after a second rotation, once the interval has passed.
        tokio::time::sleep(interval).await;
        idp.rotate_keys().await;
        let (_, _, to_console) = console_sign_in(&base, "frank", "frank-pw").await;
        assert!(to_console.contains("#token="), "{to_console}");
        server.abort();
    }
}

/// ID tokens that must not sign anyone in, handed out by the real provider's token
/// endpoint through the whole flow: expired, for another audience, with a nonce of
/// another sign-in, or signed with a key the provider never published under its kid.
/// Each sends the console an error and is a security event; an untampered token right
/// after still signs in.
#[tokio::test]
async fn bad_id_tokens_are_refused_through_the_flow() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let users =
            json!({"gina": {"password": "gina-pw", "claims": {"preferred_username": "gina"}}});
        let Some(idp) = connect(&app, &base, users).await else {
            return;
        };
        let past = switchyard_server::util::now_ms() / 1000 - 3600;
        for (claims, foreign, why) in [
            (json!({"exp": past, "iat": past - 60}), false, "expired"),
            (json!({"aud": "another-client"}), false, "audience"),
            (
                json!({"aud": ["switchyard", "another-client"]}),
                false,
                "audience",
            ),
            (
                json!({"nonce": "the-nonce-of-another-sign-in"}),
                false,
                "nonce",
            ),
            (json!({"iss": "http://127.0.0.1:1"}), false, "issuer"),
            (json!({}), true, "signature"),
        ] {
            idp.tamper_next(claims.clone(), foreign).await;
            let (_, status, to_console) = console_sign_in(&base, "gina", "gina-pw").await;
            assert_eq!(status, 303);
            assert_eq!(to_console, format!("/ui/apps#sso_error={why}"), "{claims}");
        }
        let (_, events) = app
            .call(
                "GET",
                "/api/v1/security-events?limit=100",
                Some(&app.admin_a),
                None,
            )
            .await;
        let kinds: Vec<&str> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        for why in ["expired", "audience", "nonce", "issuer", "signature"] {
            let kind = format!("auth.failed.oidc.{why}");
            assert!(kinds.contains(&kind.as_str()), "{kind} not in {kinds:?}");
        }
        let (_, _, to_console) = console_sign_in(&base, "gina", "gina-pw").await;
        let (s, me) = me_of(&app, &to_console).await;
        assert_eq!(s, axum::http::StatusCode::OK, "{to_console}");
        assert_eq!(me["username"], "gina");
        server.abort();
    }
}

/// SSO required: passwords are refused (403, a security event) for everyone but the
/// break-glass users, who still sign in with theirs; a wrong password is still 401, so
/// the refusal says nothing to someone without the password; turning it off restores
/// passwords.
#[tokio::test]
async fn sso_required_leaves_passwords_to_break_glass_users() {
    use axum::http::StatusCode;
    use common::app::PASSWORD;
    for app in common::app::apps().await {
        app.user_with("harry", json!([{"role": "model_ops"}])).await;
        app.user_with("root", json!([{"role": "infra_admin"}]))
            .await;
        let admin = Some(app.admin_a.as_str());
        let settings = |required: bool| {
            json!({"issuer": "https://login.example.com", "client_id": "c", "redirect_uri": CALLBACK,
                   "sso_required": required, "break_glass": ["root"]})
        };
        let (s, body) = app
            .call("PUT", "/api/v1/sso", admin, Some(settings(true)))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (s, _) = app.login("acme", "harry", PASSWORD).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.login("acme", "harry", "wrong password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = app.login("acme", "root", PASSWORD).await;
        assert_eq!(s, StatusCode::CREATED, "the break-glass user");
        let (_, events) = app
            .call("GET", "/api/v1/security-events", admin, None)
            .await;
        assert!(
            events["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "auth.failed.login.sso_required"
                    && e["subject"] == "acme/harry"),
            "{events}"
        );
        let (s, _) = app
            .call("PUT", "/api/v1/sso", admin, Some(settings(false)))
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = app.login("acme", "harry", PASSWORD).await;
        assert_eq!(s, StatusCode::CREATED);
    }
}
