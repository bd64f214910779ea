//! `POST /sdk/v1/usage` on SQLite and PostgreSQL: events stored once, replays counted as
//! duplicates (also concurrent ones), rollups equal to the raw events, gzip and plain
//! bodies, and hostile input refused with the right 4xx and nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::store::NewKey;

use common::app::apps;
use common::ctx;
use common::usage::{T0, batch_of, event, gzip, post, rollups_vs_raw, totals, usage_request};

/// (what, key, body, gzipped, status, code)
type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, bool, StatusCode, &'a str);

#[tokio::test]
async fn events_are_stored_once_and_rollups_match_them() {
    for app in apps().await {
        let f = app.fixture(1).await;
        let events = batch_of(300, T0);
        let (s, ack) = post(&app, &f.key_secret, &events, false).await;
        assert_eq!(s, StatusCode::OK, "{ack}");
        assert_eq!(
            ack,
            json!({"accepted": 300, "duplicates": 0, "rejected": []})
        );
        let expected_cost: i64 = (1..=300).map(|i| (123.0 * i as f64).round() as i64).sum();
        assert_eq!(totals(&app.store).await, (300, 300, expected_cost, 300));

        // The same batch again, gzipped, plus two new events: only those are stored.
        let mut replay = events.clone();
        replay.push(event(T0 + 5, "chat", "openai/gpt-4o-mini", 1.5, 10.0));
        replay.push(event(T0 + 6, "chat", "openai/gpt-4o-mini", 0.25, 10.0));
        let (s, ack) = post(&app, &f.key_secret, &replay, true).await;
        assert_eq!(s, StatusCode::OK, "{ack}");
        assert_eq!(
            ack,
            json!({"accepted": 2, "duplicates": 300, "rejected": []})
        );
        assert_eq!(
            totals(&app.store).await,
            (302, 302, expected_cost + 1_750_000, 302)
        );
        let (raw, rolled) = rollups_vs_raw(&app.store).await;
        assert_eq!(raw.len(), 4, "{raw:?}");
        assert_eq!(raw, rolled);

        // The tenant, department and app are the key's.
        let (tenant, dept, app_id): (String, String, String) =
            sqlx::query_as("SELECT DISTINCT tenant_id, department_id, app_id FROM usage_minute")
                .fetch_one(&app.store.db.pool)
                .await
                .unwrap();
        assert_eq!(
            (tenant, dept, app_id),
            (app.tenant_a.clone(), f.dept, f.app)
        );

        let (_, metrics) = app.call("GET", "/metrics", None, None).await;
        let metrics = metrics.as_str().unwrap().to_owned();
        assert!(
            metrics.contains("switchyard_usage_events_total{outcome=\"accepted\"} 302"),
            "{metrics}"
        );
        assert!(metrics.contains("switchyard_usage_events_total{outcome=\"duplicate\"} 300"));
        let calls = format!(
            "switchyard_usage_calls_total{{tenant=\"{}\",model=\"claude\"}} 100",
            app.tenant_a
        );
        assert!(metrics.contains(&calls), "{metrics}");
    }
}

#[tokio::test]
async fn concurrent_replays_store_each_event_exactly_once() {
    for app in apps().await {
        let f = app.fixture(1).await;
        let events = batch_of(500, T0);
        let mut tasks = Vec::new();
        for i in 0..8 {
            let router = app.router.clone();
            let body = json!({"events": events}).to_string().into_bytes();
            let key = f.key_secret.clone();
            tasks.push(tokio::spawn(async move {
                use tower::ServiceExt;
                let gz = i % 2 == 0;
                let body = if gz { gzip(&body) } else { body };
                let resp = router
                    .oneshot(usage_request(Some(&key), body, gz))
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                    .await
                    .unwrap();
                serde_json::from_slice::<Value>(&bytes).unwrap()
            }));
        }
        let mut accepted = 0;
        let mut duplicates = 0;
        for t in tasks {
            let ack = t.await.unwrap();
            accepted += ack["accepted"].as_u64().unwrap();
            duplicates += ack["duplicates"].as_u64().unwrap();
        }
        assert_eq!((accepted, duplicates), (500, 3500));
        let (raw, calls, _, hist) = totals(&app.store).await;
        assert_eq!((raw, calls, hist), (500, 500, 500));
        let (raw, rolled) = rollups_vs_raw(&app.store).await;
        assert_eq!(raw, rolled);
    }
}

#[tokio::test]
async fn a_bad_event_is_refused_and_the_rest_kept() {
    for app in apps().await {
        let f = app.fixture(1).await;
        let mut events = batch_of(3, T0);
        events[1]["prompt_tokens"] = json!(-5);
        let (s, ack) = post(&app, &f.key_secret, &events, false).await;
        assert_eq!(s, StatusCode::OK, "{ack}");
        assert_eq!(ack["accepted"], 2);
        let rejected = ack["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0]["index"], 1);
        assert_eq!(rejected[0]["id"], events[1]["id"]);
        assert_eq!(rejected[0]["field"], "prompt_tokens");
        assert_eq!(totals(&app.store).await.0, 2);
        let (_, metrics) = app.call("GET", "/metrics", None, None).await;
        assert!(
            metrics
                .as_str()
                .unwrap()
                .contains("switchyard_usage_events_total{outcome=\"rejected\"} 1")
        );
    }
}

/// Every hostile request gets its 4xx and the error body, and the database is unchanged.
#[tokio::test]
async fn hostile_input_is_refused_and_stores_nothing() {
    for app in apps().await {
        let f = app.fixture(1).await;
        // Something stored already, to see that nothing changes.
        let (s, _) = post(&app, &f.key_secret, &batch_of(5, T0), false).await;
        assert_eq!(s, StatusCode::OK);
        let before = totals(&app.store).await;

        // Tenant B's app and key.
        let tb = app.store.tenant(&app.tenant_b);
        let root_b = tb.list_departments(Default::default()).await.unwrap()[0]
            .id
            .clone();
        let (app_b, _) = common::app_with_key(&app.store, &app.tenant_b, &root_b, "b").await;
        // A revoked key of tenant A.
        let ta = app.store.tenant(&app.tenant_a);
        let (revoked, revoked_secret) = ta
            .create_key(
                &ctx(),
                NewKey {
                    app_id: f.app.clone(),
                    name: "old".into(),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        ta.revoke_key(&ctx(), &revoked.id).await.unwrap();

        let one = |field: &str, value: Value| {
            let mut e = event(T0, "chat", "d", 0.1, 10.0);
            e[field] = value;
            json!({"events": [e]}).to_string().into_bytes()
        };
        let key = Some(f.key_secret.as_str());
        let huge_tags = {
            let mut e = event(T0, "chat", "d", 0.1, 10.0);
            e["tags"] = json!(vec!["t".repeat(5000); 1000]);
            json!({"events": [e]}).to_string().into_bytes()
        };
        let too_many = json!({"events": batch_of(1001, T0)})
            .to_string()
            .into_bytes();
        let oversized = vec![b' '; switchyard::sdk_protocol::USAGE_MAX_BYTES + 10];
        // 64 MiB of zeros compress to about 64 KiB: the server stops reading at the limit.
        let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
        assert!(bomb.len() < 1024 * 1024);
        let cases: Vec<Case> = vec![
            (
                "not JSON",
                key,
                b"{not json".to_vec(),
                false,
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                "wrong shape",
                key,
                b"{\"events\": 5}".to_vec(),
                false,
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                "an array",
                key,
                b"[1, 2]".to_vec(),
                false,
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                "NaN cost",
                key,
                br#"{"events": [{"cost_usd": NaN}]}"#.to_vec(),
                false,
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                "bad gzip",
                key,
                b"not gzip at all".to_vec(),
                true,
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                "oversized",
                key,
                oversized,
                false,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "gzip bomb",
                key,
                bomb,
                true,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "1001 events",
                key,
                too_many,
                false,
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "huge tags",
                key,
                huge_tags,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "NUL in model",
                key,
                one("model", json!("a\u{0}b")),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "NUL in a tag",
                key,
                one("tags", json!(["a\u{0}"])),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "negative tokens",
                key,
                one("completion_tokens", json!(-1)),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "huge cost",
                key,
                one("cost_usd", json!(1e300)),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "string cost",
                key,
                one("cost_usd", json!("1")),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "bad id",
                key,
                one("id", json!("1234")),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "bad status",
                key,
                one("status", json!({"failed": 1})),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "another tenant",
                key,
                one("tenant", json!(app.tenant_b)),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "another tenant's app",
                key,
                one("app", json!(app_b)),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                "revoked key",
                Some(revoked_secret.as_str()),
                one("model", json!("chat")),
                false,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            ),
            (
                "no key",
                None,
                one("model", json!("chat")),
                false,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            ),
        ];
        for (what, key, body, gz, status, code) in cases {
            let (s, b, _) = app.send(usage_request(key, body, gz)).await;
            assert_eq!(s, status, "{what}: {b}");
            assert_eq!(b["code"], code, "{what}: {b}");
            assert!(b["message"].is_string(), "{what}: {b}");
            if status == StatusCode::UNPROCESSABLE_ENTITY {
                assert_eq!(b["rejected"].as_array().unwrap().len(), 1, "{what}: {b}");
            }
            assert_eq!(totals(&app.store).await, before, "{what} changed the store");
        }
        // A content type other than JSON, and an unknown encoding.
        let mut req = usage_request(Some(&f.key_secret), b"{}".to_vec(), false);
        req.headers_mut()
            .insert("content-type", "text/plain".parse().unwrap());
        assert_eq!(app.send(req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let mut req = usage_request(Some(&f.key_secret), b"{}".to_vec(), false);
        req.headers_mut()
            .insert("content-encoding", "br".parse().unwrap());
        assert_eq!(app.send(req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(totals(&app.store).await, before);
    }
}

/// Admin writes go on while batches pour in: each one succeeds (no "database is locked")
/// and waits at most for the batches queued before it, not for the stream to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingestion_does_not_starve_admin_writes() {
    for app in apps().await {
        let f = app.fixture(1).await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut posters = Vec::new();
        for _ in 0..6 {
            let (router, key, stop) = (app.router.clone(), f.key_secret.clone(), stop.clone());
            posters.push(tokio::spawn(async move {
                use tower::ServiceExt;
                let mut batches = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = json!({"events": batch_of(500, T0)})
                        .to_string()
                        .into_bytes();
                    let resp = router
                        .clone()
                        .oneshot(usage_request(Some(&key), body, false))
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), StatusCode::OK);
                    batches += 1;
                }
                batches
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let admin = Some(app.admin_a.as_str());
        let mut slowest = std::time::Duration::ZERO;
        for i in 0..10 {
            let start = std::time::Instant::now();
            let (s, b) = app
                .call(
                    "POST",
                    "/api/v1/departments",
                    admin,
                    Some(json!({"name": format!("busy{i}")})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            slowest = slowest.max(start.elapsed());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut batches = 0;
        for p in posters {
            batches += p.await.unwrap();
        }
        eprintln!(
            "{} batches of 500 meanwhile; slowest admin write {slowest:?}",
            batches
        );
        assert!(batches >= 6, "the stream ran alongside");
        assert!(slowest < std::time::Duration::from_secs(5), "{slowest:?}");
        let (raw, calls, _, _) = totals(&app.store).await;
        assert_eq!(raw, calls);
    }
}

/// Pruning deletes raw events older than the cut-off and keeps every rollup; an event
/// older than the retention period is refused, so a pruned event cannot come back and
/// count twice.
#[tokio::test]
async fn retention_prunes_raw_events_and_keeps_rollups() {
    for mut app in apps().await {
        app.state.usage_retention_days = 30;
        app.router = switchyard_server::api::router(app.state.clone());
        let f = app.fixture(1).await;
        let day = 86_400_000;
        let now = switchyard_server::util::now_ms();
        let old = batch_of(30, now - 20 * day);
        let new = batch_of(20, now - day);
        for events in [&old, &new] {
            let (s, ack) = post(&app, &f.key_secret, events, false).await;
            assert_eq!(s, StatusCode::OK, "{ack}");
        }
        let before = totals(&app.store).await;
        assert_eq!(before.0, 50);
        let deleted = app.store.prune_usage(now - 10 * day).await.unwrap();
        assert_eq!(deleted, 30);
        let after = totals(&app.store).await;
        assert_eq!((after.0, after.1, after.2), (20, before.1, before.2));
        // Past the retention period (30 days by default): refused, nothing stored.
        let (s, b) = post(&app, &f.key_secret, &batch_of(3, now - 31 * day), false).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["field"], "events[0].time_ms");
        assert_eq!(totals(&app.store).await, after);
    }
}
