//! Sign-in through an OpenID provider, against a real one (`tests/oidc-provider`, the
//! certified `oidc-provider` package) on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::oidc::{Browser, TestIdp};
use serde_json::{Value, json};
use sha2::Digest;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn idp_config() -> Value {
    json!({
        "clients": [{
            "client_id": "switchyard",
            "client_secret": "client-secret",
            "redirect_uris": [REDIRECT],
            "id_token_signed_response_alg": "ES256",
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

/// The test provider itself: the code flow with PKCE through its login page, the groups
/// in the ID token, a wrong password refused, and key rotation publishing new keys. What
/// the server's own SSO tests stand on.
#[tokio::test]
async fn the_test_provider_runs_the_code_flow_and_rotates_keys() {
    let Some(idp) = TestIdp::start(idp_config()).await else {
        return;
    };
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], idp.issuer.as_str());
    let authorize = discovery["authorization_endpoint"].as_str().unwrap();
    let verifier = b64(b"a code verifier of at least forty-three characters");
    let challenge = b64(&sha2::Sha256::digest(verifier.as_bytes()));
    let url = format!(
        "{authorize}?client_id=switchyard&response_type=code&scope=openid%20groups%20email\
         &redirect_uri={REDIRECT}&state=s1&nonce=n1&code_challenge={challenge}&code_challenge_method=S256"
    );

    let refused = Browser::default()
        .sign_in_at_provider(&url, "alice", "wrong")
        .await;
    assert_eq!(refused, Err(401));

    let back = Browser::default()
        .sign_in_at_provider(&url, "alice", "alice-pw")
        .await
        .unwrap();
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = back
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap();
    assert!(back.contains("state=s1"));
    let tokens: Value = reqwest::Client::new()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth("switchyard", Some("client-secret"))
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
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
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
