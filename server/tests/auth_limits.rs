//! Failed-authentication limiting cannot lock out the innocent: a valid token or app key
//! is served whatever failures its address or its key's prefix has had (directly and
//! behind a load balancer the server does not trust), while guessing stays throttled
//! and every failure stays a security event. Password sign-in: an account's failures
//! space its attempts per address, the right password is still accepted, and the pace an
//! attacker gets is measured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use switchyard_server::auth::login_throttle::{MAX_WAIT, SPACING};
use switchyard_server::auth::password::hash_password_cheap;
use switchyard_server::rbac::Role;

use common::app::{PASSWORD, TestApp, config_doc, from_peer, request};
use common::databases;

const LOAD_BALANCER: &str = "10.0.0.5";

/// A request from `peer`, naming `client` in `X-Forwarded-For` (which a server without
/// `--trusted-proxy` ignores): its status.
async fn from(
    app: &TestApp,
    peer: &str,
    client: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> StatusCode {
    let mut req = request(method, path, token, body);
    req.headers_mut()
        .insert("x-forwarded-for", client.parse().unwrap());
    app.send(from_peer(peer, req)).await.0
}

async fn events(app: &TestApp, kind: &str, source: &str) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM security_events WHERE kind = $1 AND source = $2")
            .bind(kind)
            .bind(source)
            .fetch_one(&app.store.db.pool)
            .await
            .unwrap();
    n
}

/// The story: one client sends its user token to an app-key endpoint a few
/// times; every other caller on its address, and the client itself on the right
/// endpoint, is still served.
#[tokio::test]
async fn a_client_sending_the_wrong_credential_locks_out_nobody() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        app.activate(&app.admin_a, config_doc(1.0)).await;
        // Directly (the client's own address), and behind a load balancer the server was
        // not told to trust: there every caller shares the balancer's address.
        // Two offenders, so that neither setup inherits the other's token count.
        let setups = [
            ("198.51.100.7", "direct", Role::AppDeveloper),
            (LOAD_BALANCER, "balancer", Role::ModelOps),
        ];
        for (peer, setup, offender) in setups {
            let at = format!("{backend} {setup}");
            let offender = app.tokens[&offender].clone();
            let mut statuses = Vec::new();
            for _ in 0..15 {
                let s = from(
                    &app,
                    peer,
                    "198.51.100.7",
                    "GET",
                    "/sdk/v1/config",
                    Some(&offender),
                    None,
                )
                .await;
                statuses.push(s.as_u16());
            }
            // Ten failures are the source's limit: beyond them, 429.
            assert_eq!(statuses[..10], [401; 10], "{at}");
            assert_eq!(
                statuses[10..],
                [429; 5],
                "{at}: failing attempts are throttled"
            );
            // A key nobody has used yet (no cache to hide behind), from the same address.
            let key = app.app_key(&format!("fresh-{setup}"), None).await;
            let s = from(
                &app,
                peer,
                "198.51.100.8",
                "GET",
                "/sdk/v1/config",
                Some(&key),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{at}: a valid app key");
            for role in Role::ALL {
                let s = from(
                    &app,
                    peer,
                    "198.51.100.9",
                    "GET",
                    "/api/v1/me",
                    Some(&app.tokens[&role]),
                    None,
                )
                .await;
                assert_eq!(s, StatusCode::OK, "{at}: {}'s token", role.as_str());
            }
            let s = from(
                &app,
                peer,
                "198.51.100.9",
                "GET",
                "/api/v1/me",
                Some(&app.token_b),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{at}: another tenant's admin");
            // Every failure is still a security event, and the limit tripping one more.
            assert_eq!(events(&app, "auth.failed.app_key", peer).await, 15, "{at}");
            assert_eq!(events(&app, "auth.rate_limited", peer).await, 1, "{at}");
            // The offender's failures still count: its next wrong attempt is refused.
            let s = from(
                &app,
                peer,
                "x",
                "GET",
                "/sdk/v1/config",
                Some(&offender),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{at}");
        }
    }
}

/// A key's prefix is public (lists show it): hammering it with wrong secrets throttles
/// the hammering, never the key.
#[tokio::test]
async fn hammering_a_keys_prefix_does_not_lock_the_key_out() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        app.activate(&app.admin_a, config_doc(1.0)).await;
        let key = app.app_key("victim", None).await;
        let prefix = key.split('_').nth(1).unwrap();
        let forged = format!("sy_{prefix}_{}", "0".repeat(64));
        let mut last = StatusCode::OK;
        for i in 0..20 {
            // From many addresses, so that only the prefix's own count can trip.
            let peer = format!("192.0.2.{i}");
            last = from(
                &app,
                &peer,
                &peer,
                "GET",
                "/sdk/v1/config",
                Some(&forged),
                None,
            )
            .await;
        }
        assert_eq!(
            last,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend}: the prefix is over its limit"
        );
        for peer in ["192.0.2.3", "203.0.113.50"] {
            let s = from(&app, peer, peer, "GET", "/sdk/v1/config", Some(&key), None).await;
            assert_eq!(s, StatusCode::OK, "{backend}: the key itself, from {peer}");
        }
        let (subject,): (String,) = sqlx::query_as(
            "SELECT DISTINCT subject FROM security_events WHERE kind = 'auth.failed.app_key'",
        )
        .fetch_one(&app.store.db.pool)
        .await
        .unwrap();
        assert_eq!(subject, format!("sy_{prefix}_…"), "{backend}");
    }
}

/// Someone's own typos delay the right password a little (bounded), never refuse it.
#[tokio::test]
async fn the_right_password_after_typos_is_accepted_after_a_bounded_delay() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let hash = hash_password_cheap(PASSWORD).unwrap();
        app.store
            .tenant(&app.tenant_a)
            .create_user(&common::ctx(), "bob", &hash, None)
            .await
            .unwrap();
        let login =
            |password: &str| json!({"tenant": "acme", "username": "bob", "password": password});
        let me = "203.0.113.20";
        for _ in 0..6 {
            let s = from(
                &app,
                me,
                me,
                "POST",
                "/api/v1/auth/login",
                None,
                Some(login("typo")),
            )
            .await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{backend}");
        }
        let started = Instant::now();
        let s = from(
            &app,
            me,
            me,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(login(PASSWORD)),
        )
        .await;
        let waited = started.elapsed();
        assert_eq!(s, StatusCode::CREATED, "{backend}");
        assert!(
            waited <= SPACING + Duration::from_millis(500),
            "{backend}: {waited:?}"
        );
    }
}

/// A brute-force attacker on one address, hammering one account with concurrent
/// guesses: most are refused unverified, the ones verified come at the spacing's pace
/// (measured), and the account's owner from elsewhere signs in at once.
#[tokio::test]
async fn a_password_brute_force_is_throttled_and_recorded() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let hash = hash_password_cheap(PASSWORD).unwrap();
        app.store
            .tenant(&app.tenant_a)
            .create_user(&common::ctx(), "ann", &hash, None)
            .await
            .unwrap();
        let guess = |i: usize| json!({"tenant": "acme", "username": "ann", "password": format!("guess{i}")});
        let attacker = "192.0.2.66";
        let attack = Duration::from_secs(7);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let app = &app;
            tasks.push(async move {
                let mut sent = 0usize;
                while started.elapsed() < attack {
                    let body = Some(guess(worker * 10_000 + sent));
                    let s = from(
                        app,
                        attacker,
                        attacker,
                        "POST",
                        "/api/v1/auth/login",
                        None,
                        body,
                    )
                    .await;
                    assert!(
                        matches!(s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS),
                        "{s}"
                    );
                    sent += 1;
                }
                sent
            });
        }
        let sent: usize = futures_util::future::join_all(tasks)
            .await
            .into_iter()
            .sum();
        let elapsed = started.elapsed().as_secs_f64();
        // The owner, from another address, while the account is under attack.
        let t = Instant::now();
        let s = from(
            &app,
            "203.0.113.21",
            "203.0.113.21",
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"tenant": "acme", "username": "ann", "password": PASSWORD})),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::CREATED,
            "{backend}: the owner from elsewhere"
        );
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "{backend}: {:?}",
            t.elapsed()
        );
        // And from the attacker's own address (a shared one): delayed at most the bound.
        let t = Instant::now();
        let s = from(
            &app,
            attacker,
            attacker,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"tenant": "acme", "username": "ann", "password": PASSWORD})),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::CREATED,
            "{backend}: the owner on the attacker's address"
        );
        assert!(
            t.elapsed() <= MAX_WAIT + Duration::from_millis(500),
            "{backend}: {:?}",
            t.elapsed()
        );

        let verified = events(&app, "auth.failed.login", attacker).await;
        let unverified = events(&app, "auth.rate_limited.login", attacker).await;
        assert_eq!(
            verified + unverified,
            sent as i64,
            "{backend}: every attempt is an event"
        );
        // Five free failures, then one per spacing (plus the queue's slots at the end).
        let bound = 5.0 + elapsed / SPACING.as_secs_f64() + 3.0;
        eprintln!(
            "{backend}: {sent} guesses in {elapsed:.1} s ({:.0}/s sent); {verified} verified \
             ({:.2}/s), {unverified} refused unverified",
            sent as f64 / elapsed,
            verified as f64 / elapsed
        );
        assert!(
            (verified as f64) <= bound,
            "{backend}: {verified} verified > {bound}"
        );
        assert!(unverified > 0, "{backend}");
    }
}
