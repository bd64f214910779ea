//! The CLI's sign-in through the tenant's OpenID provider: the device authorization grant
//! (RFC 8628) brokered by the server, against the real provider (`tests/oidc-provider`),
//! the test playing the person in the provider's own pages; and the `switchyard` binary's
//! `login --sso`, `whoami` and `logout` end to end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use common::app::{PASSWORD, TestApp};
use common::oidc::{Browser, connect, connect_with, set_sso, sso_settings};
use serde_json::{Value, json};

fn erin(groups: Value) -> Value {
    json!({"erin-sub": {"password": "erin-pw",
        "claims": {"preferred_username": "erin", "groups": groups}}})
}

/// `POST /api/v1/auth/oidc/device` for tenant acme.
async fn start(app: &TestApp) -> Value {
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/auth/oidc/device",
            None,
            Some(json!({"tenant": "acme"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

/// One poll: the status and body.
async fn poll(app: &TestApp, handle: &str) -> (StatusCode, Value) {
    app.call(
        "POST",
        "/api/v1/auth/oidc/device/token",
        None,
        Some(json!({"handle": handle})),
    )
    .await
}

/// A device sign-in started, and the person's part at the provider as erin: approved,
/// or aborted. Answers the handle.
async fn started_and(app: &TestApp, approve: bool) -> String {
    let started = start(app).await;
    let verification = started["verification_uri_complete"].as_str().unwrap();
    let page = Browser::default()
        .device_sign_in(verification, approve, "erin-sub", "erin-pw")
        .await;
    if approve {
        assert!(page.contains("Sign-in Success"), "{page}");
    }
    started["handle"].as_str().unwrap().to_owned()
}

/// A whole device sign-in as erin: started, approved at the provider, polled once.
async fn device_sign_in(app: &TestApp) -> Value {
    let handle = started_and(app, true).await;
    let (s, session) = poll(app, &handle).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    session
}

/// The tenant's security events of `kind`.
async fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    let (_, events) = app
        .call("GET", "/api/v1/security-events", Some(&app.admin_a), None)
        .await;
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

/// Security events of `kind` with no tenant (a handle names none until it is found).
async fn untenanted_events(app: &TestApp, kind: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM security_events WHERE kind = $1 AND tenant_id IS NULL",
    )
    .bind(kind)
    .fetch_one(&app.store.db.pool)
    .await
    .unwrap();
    n
}

fn roles(me: &Value) -> Vec<String> {
    let mut roles: Vec<String> = me["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["role"].as_str().unwrap().to_owned())
        .collect();
    roles.sort();
    roles
}

async fn rule(app: &TestApp, group: &str, role: &str) {
    let (s, body) = app
        .call(
            "POST",
            "/api/v1/sso/rules",
            Some(&app.admin_a),
            Some(json!({"group": group, "role": role})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn the_cli_signs_in_with_a_device_code_and_gets_its_groups_roles() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = connect(&app, &base, erin(json!(["ai-platform-ops"]))).await else {
            return;
        };
        rule(&app, "ai-platform-ops", "model_ops").await;

        let started = start(&app).await;
        let handle = started["handle"].as_str().unwrap().to_owned();
        assert_eq!(handle.len(), 48, "{started}");
        assert_eq!(started["interval"], 5, "RFC 8628's default: {started}");
        assert!(started["expires_in"].as_u64().unwrap() > 0);
        assert_eq!(
            started["verification_uri"],
            format!("{}/device", idp.issuer).as_str()
        );
        let code = started["user_code"].as_str().unwrap();
        let verification = started["verification_uri_complete"].as_str().unwrap();
        assert!(verification.contains(code), "{started}");
        assert!(
            !started.to_string().contains("client-secret"),
            "the client secret stays on the server"
        );

        // Before the person acts: pending, not a security event, and asked again.
        for _ in 0..2 {
            let (s, body) = poll(&app, &handle).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["code"], "authorization_pending");
        }
        assert_eq!(untenanted_events(&app, "auth.failed.oidc.handle").await, 0);
        // The provider asks for slower polls: passed on, and the sign-in goes on.
        idp.slow_down_next().await;
        let (s, body) = poll(&app, &handle).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "slow_down");
        let (_, body) = poll(&app, &handle).await;
        assert_eq!(body["code"], "authorization_pending");

        // A handle with one character changed is refused, as a security event, and the
        // real one still works.
        let mut tampered = handle.clone().into_bytes();
        tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8(tampered).unwrap();
        let (s, body) = poll(&app, &tampered).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(untenanted_events(&app, "auth.failed.oidc.handle").await, 1);
        // A console sign-in's `state` is no device handle either.
        let (s, _) = poll(&app, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let page = Browser::default()
            .device_sign_in(verification, true, "erin-sub", "erin-pw")
            .await;
        assert!(page.contains("Sign-in Success"), "{page}");
        let (s, session) = poll(&app, &handle).await;
        assert_eq!(s, StatusCode::OK, "{session}");
        assert_eq!(session["username"], "erin");
        let token = session["token"].as_str().unwrap().to_owned();
        let expires_in =
            session["expires_at"].as_i64().unwrap() - switchyard_server::util::now_ms();
        assert!(
            (11 * 3600 * 1000..=12 * 3600 * 1000).contains(&expires_in),
            "a 12-hour session: {session}"
        );
        let (s, me) = app.call("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(s, StatusCode::OK, "{me}");
        assert_eq!(me["username"], "erin");
        assert_eq!(roles(&me), ["model_ops"]);
        // model_ops reads config versions, not the audit log.
        let (s, _) = app.call("GET", "/api/v1/configs", Some(&token), None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = app.call("GET", "/api/v1/audit", Some(&token), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Provisioned and signed in, both in the audit log.
        let (_, audit) = app
            .call("GET", "/api/v1/audit?actor=erin", Some(&app.admin_a), None)
            .await;
        let actions: Vec<(&str, &str)> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
            .collect();
        assert!(actions.contains(&("sso.provision", "erin")), "{audit}");
        assert!(
            actions.contains(&("token.create.session", "erin")),
            "{audit}"
        );

        // The handle has served: polling it again is refused.
        let (s, _) = poll(&app, &handle).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(untenanted_events(&app, "auth.failed.oidc.handle").await, 3);
        // The same person signing in again is the same user.
        let again = device_sign_in(&app).await;
        let (_, me_again) = app
            .call("GET", "/api/v1/me", again["token"].as_str(), None)
            .await;
        assert_eq!(me_again["user_id"], me["user_id"]);

        // Tenants without a provider, or unknown: 404.
        for tenant in ["globex", "nope"] {
            let (s, _) = app
                .call(
                    "POST",
                    "/api/v1/auth/oidc/device",
                    None,
                    Some(json!({"tenant": tenant})),
                )
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{tenant}");
        }
        server.abort();
    }
}

#[tokio::test]
async fn refused_expired_and_forged_device_sign_ins_end_as_security_events() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = connect(&app, &base, erin(json!([]))).await else {
            return;
        };
        // The person aborts at the provider.
        let handle = &started_and(&app, false).await;
        let (s, body) = poll(&app, handle).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "access_denied");
        assert_eq!(events_of(&app, "auth.failed.oidc.denied").await.len(), 1);
        let (s, _) = poll(&app, handle).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "over once refused");

        // The provider's answer is checked as the console's is: an ID token signed with a
        // key the provider never published is refused, and ends the sign-in.
        let handle = &started_and(&app, true).await;
        idp.tamper_next(json!({}), true).await;
        let (s, body) = poll(&app, handle).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "sso_refused");
        assert!(
            body["message"].as_str().unwrap().ends_with("signature"),
            "{body}"
        );
        assert_eq!(events_of(&app, "auth.failed.oidc.signature").await.len(), 1);
        // Another audience, through the same flow.
        let handle = &started_and(&app, true).await;
        idp.tamper_next(json!({"aud": "someone-else"}), false).await;
        let (s, _) = poll(&app, handle).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(events_of(&app, "auth.failed.oidc.audience").await.len(), 1);
        drop(idp);

        // A code nobody approves in time: the provider's `expired_token`.
        let Some(_short) = connect_with(
            &app,
            &base,
            erin(json!([])),
            &[],
            json!({"device_code_ttl": 1}),
        )
        .await
        else {
            return;
        };
        let started = start(&app).await;
        assert_eq!(started["expires_in"], 1);
        let handle = started["handle"].as_str().unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (s, body) = poll(&app, handle).await;
        assert_eq!(s, StatusCode::GONE, "{body}");
        assert_eq!(body["code"], "expired_token");
        assert_eq!(
            events_of(&app, "auth.failed.oidc.device_expired")
                .await
                .len(),
            1
        );
        let (s, _) = poll(&app, handle).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        server.abort();
    }
}

#[tokio::test]
async fn a_group_removed_at_the_provider_loses_its_role_at_the_next_device_sign_in() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = connect(&app, &base, erin(json!(["ai-platform-ops", "finance"]))).await
        else {
            return;
        };
        rule(&app, "ai-platform-ops", "model_ops").await;
        rule(&app, "finance", "resource_manager").await;
        let first = device_sign_in(&app).await;
        let first = first["token"].as_str().unwrap().to_owned();
        let (_, me) = app.call("GET", "/api/v1/me", Some(&first), None).await;
        assert_eq!(roles(&me), ["model_ops", "resource_manager"]);

        idp.set_users(erin(json!(["finance"]))).await;
        let (_, me) = app.call("GET", "/api/v1/me", Some(&first), None).await;
        assert_eq!(
            roles(&me),
            ["model_ops", "resource_manager"],
            "nothing changes before the next sign-in"
        );
        let second = device_sign_in(&app).await;
        let (_, me) = app
            .call("GET", "/api/v1/me", second["token"].as_str(), None)
            .await;
        assert_eq!(roles(&me), ["resource_manager"]);
        // The older session lost it too: bindings are read at each request.
        let (_, me) = app.call("GET", "/api/v1/me", Some(&first), None).await;
        assert_eq!(roles(&me), ["resource_manager"]);
        server.abort();
    }
}

#[tokio::test]
async fn an_sso_required_tenant_signs_in_by_device_and_keeps_passwords_for_break_glass() {
    for app in common::app::apps().await {
        let (base, server) = app.listen().await;
        let Some(idp) = connect(&app, &base, erin(json!(["ai-platform-ops"]))).await else {
            return;
        };
        rule(&app, "ai-platform-ops", "model_ops").await;
        app.user_with("harry", json!([{"role": "model_ops"}])).await;
        app.user_with("root", json!([{"role": "infra_admin"}]))
            .await;
        let mut settings = sso_settings(&idp.issuer, &base, false);
        settings["sso_required"] = json!(true);
        settings["break_glass"] = json!(["root"]);
        set_sso(&app, settings).await;

        let session = device_sign_in(&app).await;
        let (s, me) = app
            .call("GET", "/api/v1/me", session["token"].as_str(), None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(roles(&me), ["model_ops"]);
        let (s, _) = app.login("acme", "harry", PASSWORD).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "passwords are refused");
        let (s, _) = app.login("acme", "root", PASSWORD).await;
        assert_eq!(s, StatusCode::CREATED, "but the break-glass user's");
        server.abort();
    }
}

/// Runs the `switchyard` binary with `args` to its end: (success, stdout, stderr).
fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Several threads: the server this test serves must answer the CLI while the test waits
// for the CLI's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_binary_signs_in_keeps_the_session_and_signs_out() {
    let app = TestApp::new(&common::sqlite_url()).await;
    let (base, server) = app.listen().await;
    let Some(_idp) = connect(&app, &base, erin(json!(["ai-platform-ops"]))).await else {
        return;
    };
    rule(&app, "ai-platform-ops", "model_ops").await;
    let dir = std::env::temp_dir().join(format!(
        "sycli-sso-{}",
        switchyard_server::util::random_hex(6)
    ));
    let file = dir.join("credentials.json");
    let file_arg = file.to_str().unwrap().to_owned();

    let mut login = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["login", "--sso", "--server", &base, "--tenant", "acme"])
        .args(["--credentials", &file_arg])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = login.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut printed = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.trim_start().starts_with("http") {
                let _ = tx.send(line.trim().to_owned());
            }
            printed.push_str(&line);
            printed.push('\n');
        }
        printed
    });
    let verification = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let page = Browser::default()
        .device_sign_in(&verification, true, "erin-sub", "erin-pw")
        .await;
    assert!(page.contains("Sign-in Success"), "{page}");
    let status = tokio::task::spawn_blocking(move || login.wait().unwrap())
        .await
        .unwrap();
    let printed = reader.join().unwrap();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("signed in to acme as erin"), "{printed}");
    assert!(
        printed.contains("and check that it shows the code"),
        "{printed}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the credentials file is its owner's only"
        );
    }
    let kept: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let token = kept["token"].as_str().unwrap().to_owned();
    let (s, _) = app.call("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(s, StatusCode::OK);

    let (ok, out, err) = tokio::task::spawn_blocking({
        let file_arg = file_arg.clone();
        move || cli(&["whoami", "--credentials", &file_arg])
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    let me: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(me["username"], "erin");
    assert_eq!(me["bindings"][0]["role"], "model_ops");

    let (ok, out, err) = tokio::task::spawn_blocking({
        let file_arg = file_arg.clone();
        move || cli(&["logout", "--credentials", &file_arg])
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("signed out of acme"), "{out}");
    assert!(!file.exists());
    let (s, _) = app.call("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the session is revoked");
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || cli(&["whoami", "--credentials", &file_arg]))
            .await
            .unwrap();
    assert!(!ok);
    assert!(err.contains("not signed in"), "{err}");

    // A tenant without a provider: the CLI says so and exits with an error.
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        cli(&["login", "--sso", "--server", &base, "--tenant", "globex"])
    })
    .await
    .unwrap();
    assert!(!ok);
    assert!(err.contains("404"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    server.abort();
}
