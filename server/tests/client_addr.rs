//! The source address behind reverse proxies: forwarding headers count only from trusted
//! proxies, for both the audit log and the failed-sign-in limits; a client talking to the
//! server directly cannot choose its address by sending the header itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::auth::password::hash_password_cheap;
use switchyard_server::client_addr::{ProxyHeader, TrustedProxies, parse_net};
use switchyard_server::store::{AuditFilter, Page};

use common::app::{PASSWORD, TestApp, from_peer, request};
use common::databases;

const PROXY: &str = "10.0.0.5";
const DIRECT: &str = "203.0.113.9";

fn proxies() -> TrustedProxies {
    TrustedProxies::new(
        vec![parse_net("10.0.0.0/24").unwrap()],
        ProxyHeader::XForwardedFor,
    )
}

/// Sends `body` to `path` from `peer` with an `X-Forwarded-For` header.
async fn send(
    app: &TestApp,
    peer: &str,
    xff: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> StatusCode {
    let mut req = request("POST", path, token, Some(body));
    req.headers_mut()
        .insert("x-forwarded-for", xff.parse().unwrap());
    app.send(from_peer(peer, req)).await.0
}

#[tokio::test]
async fn the_audit_source_is_the_peer_or_what_a_trusted_proxy_says() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await.behind(proxies());
        let admin = Some(app.admin_a.as_str());
        let create = |name: &str| json!({"department_id": app.root_a, "name": name});
        let spoofed = send(&app, DIRECT, "1.2.3.4", "/api/v1/apps", admin, create("a")).await;
        let proxied = send(
            &app,
            PROXY,
            "6.6.6.6, 198.51.100.7, 10.0.0.9",
            "/api/v1/apps",
            admin,
            create("b"),
        )
        .await;
        assert_eq!(
            (spoofed, proxied),
            (StatusCode::CREATED, StatusCode::CREATED)
        );
        let records = app
            .store
            .tenant(&app.tenant_a)
            .list_audit(&AuditFilter::action("app.create"), Page::default())
            .await
            .unwrap();
        let sources: Vec<&str> = records.iter().rev().map(|r| r.source.as_str()).collect();
        assert_eq!(
            sources,
            [DIRECT, "198.51.100.7"],
            "{backend}: a direct client's header is ignored; behind the proxy, the \
             right-most untrusted hop"
        );
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_real_client() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await.behind(proxies());
        let login = "/api/v1/auth/login";
        // Wrong passwords of distinct real users (cheap hashes: unknown users would cost a
        // full argon2 run each), so that only the source address can trip the limit.
        let hash = hash_password_cheap(PASSWORD).unwrap();
        for i in 0..22 {
            app.store
                .tenant(&app.tenant_a)
                .create_user(&common::ctx(), &format!("u{i}"), &hash, None)
                .await
                .unwrap();
        }
        let bad =
            |i: usize| json!({"tenant": "acme", "username": format!("u{i}"), "password": "wrong"});
        let good = json!({"tenant": "acme", "username": "u0", "password": PASSWORD});
        // A direct client cannot escape the limit by inventing a new address each time.
        for i in 0..10 {
            let s = send(&app, DIRECT, &format!("192.0.2.{i}"), login, None, bad(i)).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{backend}");
        }
        let s = send(&app, DIRECT, "192.0.2.200", login, None, bad(10)).await;
        assert_eq!(
            s,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend}: spoofing evaded the limit"
        );

        // Behind the proxy, one client's failures block that client, not the proxy's
        // other clients.
        for i in 0..10 {
            let s = send(&app, PROXY, "198.51.100.1", login, None, bad(11 + i)).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{backend}");
        }
        let s = send(&app, PROXY, "198.51.100.1", login, None, bad(21)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{backend}");
        let s = send(&app, PROXY, "198.51.100.2", login, None, good).await;
        assert_eq!(
            s,
            StatusCode::CREATED,
            "{backend}: another client of the proxy"
        );

        let sources: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT source FROM security_events WHERE kind = 'auth.failed.login' \
             ORDER BY source",
        )
        .fetch_all(&app.store.db.pool)
        .await
        .unwrap();
        let sources: Vec<&str> = sources.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(sources, ["198.51.100.1", DIRECT], "{backend}");
    }
}
