//! The API's behaviour beyond permissions: bad input, sign-in and failure limiting, the
//! SDK config endpoint (resolution, secrets, ETag, long-poll), audit, operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use switchyard_server::rbac::Role;
use switchyard_server::store::Page;
use switchyard_server::store::audit_log as audit;

use common::app::{TestApp, apps, config_doc, request};
use common::{databases, sqlite_url};

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field_and_writes_nothing() {
    for app in apps().await {
        let admin = Some(app.admin_a.as_str());
        let raw = |body: &str, ct: &str| {
            Request::builder()
                .method("POST")
                .uri("/api/v1/apps")
                .header("authorization", format!("Bearer {}", app.admin_a))
                .header("content-type", ct)
                .body(Body::from(body.to_owned()))
                .unwrap()
        };
        let (s, b, _) = app.send(raw("{not json", "application/json")).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request"))
        );
        let (s, b, _) = app
            .send(raw(
                r#"{"department_id": 5, "name": "x"}"#,
                "application/json",
            ))
            .await;
        assert_eq!(
            (s, b["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("department_id")),
            "{b}"
        );
        let (s, b, _) = app
            .send(raw(
                &format!(
                    r#"{{"department_id": "{}", "name": "x", "bogus": 1}}"#,
                    app.root_a
                ),
                "application/json",
            ))
            .await;
        assert_eq!(
            (s, b["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bogus")),
            "{b}"
        );
        let (s, _, _) = app.send(raw("{}", "text/plain")).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
        let (s, b, _) = app.send(raw(&big, "application/json")).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
        );
        let (s, b, _) = app.send(raw("{} trailing", "application/json")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

        // An invalid config: 422 naming the path inside the document; nothing stored.
        let mut doc = config_doc(1.0);
        doc["models"]["chat"]["deployments"][0]["provider"] = json!("missing");
        let (s, b) = app
            .call(
                "POST",
                "/api/v1/configs",
                admin,
                Some(json!({"document": doc})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(
            b["field"]
                .as_str()
                .unwrap()
                .starts_with("document.models.chat"),
            "{b}"
        );
        let (s, b) = app
            .call(
                "POST",
                "/api/v1/configs",
                admin,
                Some(json!({"document": {"version": 1, "models": {"m": {"deployments": "no"}}}})),
            )
            .await;
        assert_eq!(
            (s, b["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("document.models.m.deployments")
            ),
            "{b}"
        );
        let (_, list) = app.call("GET", "/api/v1/configs", admin, None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);

        // Query strings: unknown parameter, wrong type, out of range.
        let (s, b) = app
            .call("GET", "/api/v1/apps?colour=red", admin, None)
            .await;
        assert_eq!(
            (s, b["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("colour")),
            "{b}"
        );
        let (s, b) = app.call("GET", "/api/v1/apps?limit=abc", admin, None).await;
        assert_eq!(
            (s, b["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("limit")),
            "{b}"
        );
        let (s, b) = app.call("GET", "/api/v1/apps?limit=0", admin, None).await;
        assert_eq!(
            (s, b["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
            "{b}"
        );

        // Unknown routes and methods answer in the same shape.
        let (s, b) = app.call("GET", "/api/v1/nothing", admin, None).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (s, b) = app.call("PATCH", "/api/v1/apps", admin, None).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        );
        let (s, b) = app.call("GET", "/api/v1/apps", None, None).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
    }
}

/// Found by inputs to the router fuzz target on PostgreSQL: a NUL in any text reached
/// the database, which refuses it (500); an id that is not UTF-8 got axum's plain-text 400.
#[tokio::test]
async fn nul_characters_and_non_utf8_ids_are_refused_in_the_error_shape() {
    for (backend, url) in databases().await {
        let app = TestApp::new(&url).await;
        let admin = Some(app.admin_a.as_str());
        let fx = app.fixture(1).await;
        let shape = |r: (StatusCode, serde_json::Value)| {
            (
                r.0,
                r.1["code"].as_str().map(str::to_owned),
                r.1["field"].as_str().map(str::to_owned),
            )
        };
        let not_found = (StatusCode::NOT_FOUND, Some("not_found".to_owned()), None);
        for path in [
            "/api/v1/apps/%FF",
            "/api/v1/apps/%00",
            "/api/v1/users/a%00b",
        ] {
            assert_eq!(
                shape(app.call("GET", path, admin, None).await),
                not_found,
                "{backend} {path}"
            );
        }
        let r = app
            .call(
                "PATCH",
                "/api/v1/apps/%00",
                admin,
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(shape(r), not_found, "{backend}");
        let bad = |field: &str| {
            (
                StatusCode::BAD_REQUEST,
                Some("bad_request".to_owned()),
                Some(field.to_owned()),
            )
        };
        let r = app
            .call(
                "POST",
                "/api/v1/apps",
                admin,
                Some(json!({"department_id": app.root_a, "name": "a\u{0}b"})),
            )
            .await;
        assert_eq!(shape(r), bad("name"), "{backend}");
        let r = app
            .call(
                "PATCH",
                &format!("/api/v1/users/{}", fx.user),
                admin,
                Some(json!({"bindings": [{"role": "model_ops", "department_id": "\u{0}"}]})),
            )
            .await;
        assert_eq!(shape(r), bad("bindings[0].department_id"), "{backend}");
        for (path, field) in [
            ("/api/v1/apps?department_id=%00", "department_id"),
            ("/api/v1/audit?action=x%00", "action"),
        ] {
            assert_eq!(
                shape(app.call("GET", path, admin, None).await),
                bad(field),
                "{backend} {path}"
            );
        }
        // The text `\u0000` (an escaped backslash, then `u0000`) is no NUL.
        let (s, b) = app
            .call(
                "POST",
                "/api/v1/apps",
                admin,
                Some(json!({"department_id": app.root_a, "name": "\\u0000"})),
            )
            .await;
        assert_eq!(
            (s, b["name"].as_str()),
            (StatusCode::CREATED, Some("\\u0000"))
        );
    }
}

#[tokio::test]
async fn pagination_and_filtering() {
    for app in apps().await {
        let admin = Some(app.admin_a.as_str());
        let (_, d) = app
            .call(
                "POST",
                "/api/v1/departments",
                admin,
                Some(json!({"name": "payments", "parent_id": app.root_a})),
            )
            .await;
        for i in 0..5 {
            let dept = if i % 2 == 0 {
                d["id"].as_str().unwrap()
            } else {
                app.root_a.as_str()
            };
            let (s, _) = app
                .call(
                    "POST",
                    "/api/v1/apps",
                    admin,
                    Some(json!({"department_id": dept, "name": format!("a{i}")})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED);
        }
        let (_, page) = app
            .call("GET", "/api/v1/apps?limit=2&offset=1", admin, None)
            .await;
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a1", "a2"]);
        let (_, filtered) = app
            .call(
                "GET",
                &format!("/api/v1/apps?department_id={}", d["id"].as_str().unwrap()),
                admin,
                None,
            )
            .await;
        assert_eq!(filtered["items"].as_array().unwrap().len(), 3);
    }
}

#[tokio::test]
async fn department_scoped_roles_reach_their_subtree_only() {
    for app in apps().await {
        let admin = Some(app.admin_a.as_str());
        let (_, d1) = app
            .call(
                "POST",
                "/api/v1/departments",
                admin,
                Some(json!({"name": "d1", "parent_id": app.root_a})),
            )
            .await;
        let (_, d1a) = app
            .call(
                "POST",
                "/api/v1/departments",
                admin,
                Some(json!({"name": "d1a", "parent_id": d1["id"]})),
            )
            .await;
        let (_, d2) = app
            .call(
                "POST",
                "/api/v1/departments",
                admin,
                Some(json!({"name": "d2", "parent_id": app.root_a})),
            )
            .await;
        let (_, in_scope) = app
            .call(
                "POST",
                "/api/v1/apps",
                admin,
                Some(json!({"department_id": d1a["id"], "name": "inside"})),
            )
            .await;
        let (_, out_scope) = app
            .call(
                "POST",
                "/api/v1/apps",
                admin,
                Some(json!({"department_id": d2["id"], "name": "outside"})),
            )
            .await;
        let (_, user) = app
            .call(
                "POST",
                "/api/v1/users",
                admin,
                Some(json!({"username": "dev", "password": "a long enough password"})),
            )
            .await;
        let uid = user["id"].as_str().unwrap();
        let (s, _) = app
            .call(
                "POST",
                &format!("/api/v1/users/{uid}/bindings"),
                admin,
                Some(json!({"role": "interface_dev", "department_id": d1["id"]})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, login) = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(
                json!({"tenant": "acme", "username": "dev", "password": "a long enough password"}),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{login}");
        let dev = login["token"].as_str();
        // A second session, signed out: that token stops working, the first does not.
        let (_, other) = app.call("POST", "/api/v1/auth/login", None, Some(json!({"tenant": "acme", "username": "dev", "password": "a long enough password"}))).await;
        assert_eq!(
            app.call("POST", "/api/v1/auth/logout", other["token"].as_str(), None)
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.call("GET", "/api/v1/me", other["token"].as_str(), None)
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.call("GET", "/api/v1/me", dev, None).await.0,
            StatusCode::OK
        );

        let (_, list) = app.call("GET", "/api/v1/apps", dev, None).await;
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["inside"]);
        let (s, _) = app
            .call(
                "GET",
                &format!("/api/v1/apps/{}", in_scope["id"].as_str().unwrap()),
                dev,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = app
            .call(
                "GET",
                &format!("/api/v1/apps/{}", out_scope["id"].as_str().unwrap()),
                dev,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = app
            .call(
                "POST",
                &format!("/api/v1/apps/{}/keys", in_scope["id"].as_str().unwrap()),
                dev,
                Some(json!({"name": "k"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = app
            .call(
                "POST",
                &format!("/api/v1/apps/{}/keys", out_scope["id"].as_str().unwrap()),
                dev,
                Some(json!({"name": "k"})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // A department binding grants nothing tenant-wide.
        let (s, _) = app.call("GET", "/api/v1/providers", dev, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_and_recorded() {
    for app in apps().await {
        // Wrong passwords of distinct accounts, so that only the source trips its limit
        // (one account's own failures bring spacing instead: tests/auth_limits.rs).
        let hash = switchyard_server::auth::password::hash_password_cheap("pw").unwrap();
        for i in 0..11 {
            app.store
                .tenant(&app.tenant_a)
                .create_user(&common::ctx(), &format!("nobody{i}"), &hash, None)
                .await
                .unwrap();
        }
        let bad = |i: usize| json!({"tenant": "acme", "username": format!("nobody{i}"), "password": "wrong"});
        for i in 0..10 {
            let (s, _) = app
                .call("POST", "/api/v1/auth/login", None, Some(bad(i)))
                .await;
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
        let (s, b) = app
            .call("POST", "/api/v1/auth/login", None, Some(bad(10)))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
        );
        // Only failures are refused: a valid token from that source is served.
        let (s, _) = app
            .call(
                "GET",
                "/api/v1/security-events",
                Some(&app.tokens[&Role::SecurityEngineer]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let events = app
            .store
            .tenant(&app.tenant_a)
            .list_security_events(Page::new(Some(500), None).unwrap())
            .await
            .unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert!(
            kinds.iter().filter(|k| **k == "auth.failed.login").count() >= 10,
            "{kinds:?}"
        );
        assert!(kinds.contains(&"auth.rate_limited"));
        // Bad bearer tokens count too, and never appear in full.
        let fake = format!("sy_{}_{}", "a".repeat(12), "b".repeat(64));
        let fresh = TestApp::new(&sqlite_url()).await;
        let (s, _) = fresh.call("GET", "/sdk/v1/config", Some(&fake), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let app = fresh;
        // A revoked key of a real app is recorded under its tenant.
        let fx = app.fixture(1).await;
        let t = app.store.tenant(&app.tenant_a);
        t.revoke_key(&common::ctx(), &fx.key).await.unwrap();
        let (s, _) = app
            .call("GET", "/sdk/v1/config", Some(&fx.key_secret), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let events = t.list_security_events(Page::default()).await.unwrap();
        assert_eq!(events[0].kind, "auth.failed.app_key");
        assert!(
            events[0].subject.starts_with("sy_")
                && !events[0].subject.contains(&fx.key_secret[20..])
        );
        let (subject,): (String,) = sqlx::query_as(
            "SELECT subject FROM security_events WHERE kind = 'auth.failed.app_key'",
        )
        .fetch_one(&app.store.db.pool)
        .await
        .unwrap();
        assert!(!subject.contains(&"b".repeat(64)), "{subject}");
    }
}

#[tokio::test]
async fn sdk_config_is_resolved_per_app_with_etag_and_long_poll() {
    for app in apps().await {
        let admin = Some(app.admin_a.as_str());
        let (_, v1) = app
            .call(
                "POST",
                "/api/v1/configs",
                admin,
                Some(json!({"document": config_doc(1.0)})),
            )
            .await;
        let (s, _) = app
            .call(
                "POST",
                &format!("/api/v1/configs/{}/activate", v1["id"].as_str().unwrap()),
                admin,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (_, p) = app
        .call(
            "POST",
            "/api/v1/providers",
            admin,
            Some(json!({"name": "openai", "kind": "openai", "credential": "sk-live-secret-7777"})),
        )
        .await;
        assert_eq!(p["credential_hint"], "…7777");
        assert!(!p.to_string().contains("sk-live"));
        let (_, gateway_app) = app
            .call(
                "POST",
                "/api/v1/apps",
                admin,
                Some(
                    json!({"department_id": app.root_a, "name": "gw", "allowed_models": ["chat"]}),
                ),
            )
            .await;
        let (_, direct_app) = app
        .call(
            "POST",
            "/api/v1/apps",
            admin,
            Some(json!({"department_id": app.root_a, "name": "direct", "secrets_mode": "direct"})),
        )
        .await;
        let key = |a: &serde_json::Value| {
            let id = a["id"].as_str().unwrap().to_owned();
            let app = &app;
            async move {
                app.call(
                    "POST",
                    &format!("/api/v1/apps/{id}/keys"),
                    admin,
                    Some(json!({"name": "k"})),
                )
                .await
                .1["secret"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let gw_key = key(&gateway_app).await;
        let direct_key = key(&direct_app).await;

        // Only the allowed models and their providers; no secrets in gateway mode.
        let (s, body, headers) = app
            .send(request("GET", "/sdk/v1/config", Some(&gw_key), None))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            body["models"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["chat"]
        );
        assert_eq!(
            body["providers"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["openai"]
        );
        // The env reference stays (the SDK's host supplies the key); no stored key is sent.
        assert_eq!(body["providers"]["openai"]["api_key"], "${OPENAI_API_KEY}");
        assert!(!body.to_string().contains("sk-live"));
        assert_eq!(body["identity"]["app"], "gw");
        switchyard::config::Config::from_json_value(body.clone()).unwrap();
        let etag = headers["etag"].to_str().unwrap().to_owned();
        // Direct mode gets the stored credential.
        let (_, body) = app
            .call("GET", "/sdk/v1/config", Some(&direct_key), None)
            .await;
        assert_eq!(
            body["providers"]["openai"]["api_key"],
            "sk-live-secret-7777"
        );

        // Same ETag: 304, at once without wait.
        let mut req = request("GET", "/sdk/v1/config", Some(&gw_key), None);
        req.headers_mut()
            .insert("if-none-match", etag.parse().unwrap());
        let (s, _, _) = app.send(req).await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        let start = Instant::now();
        let (s, _) = app
            .call(
                "GET",
                &format!("/sdk/v1/config?wait=1&etag={}", etag.trim_matches('"')),
                Some(&gw_key),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        assert!(start.elapsed() >= Duration::from_millis(900));

        // Long-poll: answered as soon as a new version is activated.
        let waiter = {
            let router = app.router.clone();
            let (gw_key, etag) = (gw_key.clone(), etag.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                let start = Instant::now();
                let r = router
                    .oneshot(request(
                        "GET",
                        &format!("/sdk/v1/config?wait=30&etag={}", etag.trim_matches('"')),
                        Some(&gw_key),
                        None,
                    ))
                    .await
                    .unwrap();
                (r.status(), start.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, v2) = app
            .call(
                "POST",
                "/api/v1/configs",
                admin,
                Some(json!({"document": config_doc(5.0)})),
            )
            .await;
        app.call(
            "POST",
            &format!("/api/v1/configs/{}/activate", v2["id"].as_str().unwrap()),
            admin,
            None,
        )
        .await;
        let (status, waited) = waiter.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(waited < Duration::from_secs(5), "{waited:?}");

        // Roll back in one call; a revoked key is refused.
        let (s, b) = app
            .call("POST", "/api/v1/configs/rollback", admin, None)
            .await;
        assert_eq!(
            (s, b["version"]["number"].as_i64()),
            (StatusCode::OK, Some(1))
        );
        let (_, keys) = app
            .call(
                "GET",
                &format!("/api/v1/apps/{}/keys", gateway_app["id"].as_str().unwrap()),
                admin,
                None,
            )
            .await;
        let key_id = keys[0]["id"].as_str().unwrap();
        assert!(keys[0].get("secret").is_none());
        app.call(
            "POST",
            &format!("/api/v1/keys/{key_id}/revoke"),
            admin,
            None,
        )
        .await;
        let (s, _) = app.call("GET", "/sdk/v1/config", Some(&gw_key), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn every_mutation_is_audited_in_a_verifiable_chain() {
    for app in apps().await {
        let admin = Some(app.admin_a.as_str());
        app.call(
            "POST",
            "/api/v1/apps",
            admin,
            Some(json!({"department_id": app.root_a, "name": "audited"})),
        )
        .await;
        let (s, log) = app
            .call(
                "GET",
                "/api/v1/audit?action=app.create",
                Some(&app.tokens[&Role::SecurityEngineer]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let rec = &log["items"][0];
        assert_eq!(
            (
                rec["actor"].as_str(),
                rec["role"].as_str(),
                rec["source"].as_str()
            ),
            (Some("admin"), Some("infra_admin"), Some("unknown"))
        );
        assert!(rec["after_digest"].is_string());
        let (s, _) = app
            .call(
                "GET",
                "/api/v1/audit",
                Some(&app.tokens[&Role::ModelOps]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let mut conn = app.store.db.pool.acquire().await.unwrap();
        let keys = app.store.db.audit_keys();
        let report = audit::verify_keyed(&mut conn, None, keys.as_deref())
            .await
            .unwrap();
        assert_eq!(report.problem, None);
        // Keyed: without the key the chain cannot be vouched for.
        assert!(
            audit::verify(&mut conn, None)
                .await
                .unwrap()
                .problem
                .is_some()
        );
    }
}

#[tokio::test]
async fn operations_endpoints() {
    for app in apps().await {
        assert_eq!(
            app.call("GET", "/healthz", None, None).await.0,
            StatusCode::OK
        );
        assert_eq!(
            app.call("GET", "/readyz", None, None).await.0,
            StatusCode::OK
        );
        app.call("GET", "/api/v1/apps", Some(&app.admin_a), None)
            .await;
        let (s, text) = app.call("GET", "/metrics", None, None).await;
        assert_eq!(s, StatusCode::OK);
        let text = text.as_str().unwrap();
        assert!(
        text.contains(
            r#"switchyard_http_requests_total{method="GET",route="/api/v1/apps",status="200"} 1"#
        ),
        "{text}"
    );
        assert!(text.contains("switchyard_db_connections"));
    }
}

#[tokio::test]
async fn openapi_document_covers_every_route() {
    for app in apps().await {
        let (s, doc) = app.call("GET", "/openapi.json", None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        for (method, path, _) in switchyard_server::api::ROUTES {
            let op = &doc["paths"][*path][method.to_lowercase()];
            assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        }
        assert!(doc["paths"]["/sdk/v1/config"]["get"].is_object());
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        let (s, html) = app.call("GET", "/docs", None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.as_str().unwrap().contains("/openapi.json"));
    }
}

#[tokio::test]
async fn an_app_sees_its_models_and_what_they_fall_back_to_only() {
    let app = TestApp::new(&sqlite_url()).await;
    let admin = Some(app.admin_a.as_str());
    let mut doc = config_doc(1.0);
    doc["models"]["chat"]["fallbacks"] = json!({"default": ["claude"]});
    doc["models"]["embed"] = json!({"type": "embedding", "deployments": [{"provider": "openai", "model": "text-embedding-3-small"}]});
    let (_, v) = app
        .call(
            "POST",
            "/api/v1/configs",
            admin,
            Some(json!({"document": doc})),
        )
        .await;
    app.call(
        "POST",
        &format!("/api/v1/configs/{}/activate", v["id"].as_str().unwrap()),
        admin,
        None,
    )
    .await;
    let (_, a) = app
        .call(
            "POST",
            "/api/v1/apps",
            admin,
            Some(json!({"department_id": app.root_a, "name": "a", "allowed_models": ["chat"]})),
        )
        .await;
    let (_, k) = app
        .call(
            "POST",
            &format!("/api/v1/apps/{}/keys", a["id"].as_str().unwrap()),
            admin,
            Some(json!({"name": "k"})),
        )
        .await;
    let (s, body) = app
        .call("GET", "/sdk/v1/config", k["secret"].as_str(), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body["models"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["chat", "claude"]
    );
    assert_eq!(
        body["providers"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["anthropic", "openai"]
    );
    assert!(switchyard::config::Config::from_json_value(body).is_ok());
}
