//! Call logs on SQLite and PostgreSQL (`docs/call-logs.md`): content stored only when the
//! app's policy logs the call, sealed in the database, once per event id, refused over the
//! size limit with the usage kept; the policy validated, audited and served to the app's
//! SDKs (waking a long-poll); search filters and text search; one call with its usage;
//! a JSONL export; retention pruning; every read audited; roles, scopes and other
//! tenants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};

use common::app::{TestApp, apps, request};
use common::usage::{T0, content, event, logged_call, post, set_policy};
use switchyard_server::util::now_ms;

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(&app.store.db.pool)
        .await
        .unwrap();
    n
}

async fn logged(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) FROM call_logs").await
}

/// An event of `model` at `time` with content asking `prompt`, answered `answer`.
fn call(time: i64, model: &str, prompt: &str, answer: &str) -> Value {
    let mut e = event(time, model, "openai/gpt-4o-mini", 0.01, 100.0);
    e["content"] = content(prompt, answer);
    e
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    app.call("GET", path, Some(token), None).await
}

async fn metric(app: &TestApp, outcome: &str) -> String {
    let (_, m) = app.call("GET", "/metrics", None, None).await;
    let m = m.as_str().unwrap();
    let line = format!("switchyard_call_logs_total{{outcome=\"{outcome}\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn content_is_kept_only_when_the_policy_logs_the_call_and_sealed_once() {
    for app in apps().await {
        let f = app.fixture(1).await;
        // No policy: the usage is stored, the content dropped and counted.
        let first = call(T0, "chat", "the secret plan for launch", "forty-two");
        let (s, ack) = post(&app, &f.key_secret, std::slice::from_ref(&first), false).await;
        assert_eq!(
            (s, ack["accepted"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{ack}"
        );
        assert_eq!(logged(&app).await, 0);
        assert_eq!(metric(&app, "not_logged").await, "1");

        set_policy(&app, &f.app, json!({"content": "all"})).await;
        let second = call(T0 + 1, "chat", "the secret plan for launch", "forty-two");
        let batch = vec![second.clone()];
        let (s, ack) = post(&app, &f.key_secret, &batch, true).await;
        assert_eq!(
            (s, ack["accepted"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{ack}"
        );
        assert_eq!(logged(&app).await, 1);
        // The row holds ciphertext: no column has the prompt or the answer in it.
        let row: (String, String, String, String) =
            sqlx::query_as("SELECT sealed, model, tags, app_id FROM call_logs WHERE id = $1")
                .bind(second["id"].as_str().unwrap())
                .fetch_one(&app.store.db.pool)
                .await
                .unwrap();
        assert!(row.0.starts_with("v1:"), "{}", row.0);
        for column in [&row.0, &row.1, &row.2, &row.3] {
            assert!(!column.contains("secret plan") && !column.contains("forty-two"));
        }
        assert_eq!((row.1.as_str(), row.3.as_str()), ("chat", f.app.as_str()));

        // A replay stores nothing twice.
        let (_, ack) = post(&app, &f.key_secret, &batch, false).await;
        assert_eq!(ack["duplicates"], 1, "{ack}");
        assert_eq!(logged(&app).await, 1);

        // `errors`: a call that succeeded is not kept, one that failed is.
        set_policy(&app, &f.app, json!({"content": "errors"})).await;
        let ok = call(T0 + 2, "chat", "fine", "fine");
        let mut failed = call(T0 + 3, "chat", "broken", "");
        failed["status"] = json!({"error": {"code": "timeout"}});
        failed["content"]["response"] = Value::Null;
        failed["content"]["error"] = json!("upstream timed out");
        post(&app, &f.key_secret, &[ok, failed.clone()], false).await;
        assert_eq!(logged(&app).await, 2);
        let (_, one) = get(
            &app,
            &app.admin_a,
            &format!("/api/v1/call-logs/{}", failed["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!(one["outcome"], "error");
        assert_eq!(one["content"]["error"], "upstream timed out");

        // A per-model mode wins over `content`.
        set_policy(
            &app,
            &f.app,
            json!({"content": "off", "models": {"claude": "all"}}),
        )
        .await;
        let chat = call(T0 + 4, "chat", "a", "b");
        let claude = call(T0 + 5, "claude", "c", "d");
        post(&app, &f.key_secret, &[chat, claude.clone()], false).await;
        assert_eq!(logged(&app).await, 3);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM call_logs WHERE model = 'claude'"
            )
            .await,
            1
        );
        // The usage of every call was kept whatever became of its content.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM usage_events").await, 6);
    }
}

#[tokio::test]
async fn content_over_the_size_limit_is_refused_and_its_usage_kept() {
    for app in apps().await {
        let f = app.fixture(1).await;
        set_policy(&app, &f.app, json!({"content": "all", "max_bytes": 2048})).await;
        let big = call(T0, "chat", &"x".repeat(4000), "y");
        let small = call(T0 + 1, "chat", "short", "y");
        let (s, ack) = post(&app, &f.key_secret, &[big, small.clone()], false).await;
        assert_eq!(
            (s, ack["accepted"].as_u64()),
            (StatusCode::OK, Some(2)),
            "{ack}"
        );
        assert_eq!(logged(&app).await, 1);
        assert_eq!(metric(&app, "too_large").await, "1");
        // Malformed content costs the content only, never the event.
        let mut odd = call(T0 + 2, "chat", "z", "z");
        odd["content"] = json!({"request": 5, "redacted": "yes"});
        let (s, ack) = post(&app, &f.key_secret, &[odd], false).await;
        assert_eq!(
            (s, ack["accepted"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{ack}"
        );
        assert_eq!(logged(&app).await, 1);
    }
}

#[tokio::test]
async fn the_policy_is_validated_audited_and_served_to_the_apps_sdks() {
    for app in apps().await {
        let f = app.fixture(1).await;
        let path = format!("/api/v1/apps/{}/call-logs", f.app);
        let (s, p) = get(&app, &app.admin_a, &path).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            p,
            json!({"content": "off", "max_bytes": 32768, "redact": true, "models": {}, "retention_days": 7})
        );
        for (body, field) in [
            (json!({"content": {"sample": 1.5}}), "content"),
            (
                json!({"content": "all", "max_bytes": 2 * 1024 * 1024}),
                "max_bytes",
            ),
            (
                json!({"content": "all", "retention_days": 0}),
                "retention_days",
            ),
            (json!({"models": {"chat": {"sample": -1}}}), "content"),
            (json!({"models": {"": "all"}}), "models"),
        ] {
            let (s, b) = app
                .call("PUT", &path, Some(&app.admin_a), Some(body.clone()))
                .await;
            assert_eq!(
                (s, b["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{body}: {b}"
            );
        }
        let (s, b) = app
            .call(
                "PUT",
                &path,
                Some(&app.admin_a),
                Some(json!({"content": "sometimes"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

        // Served: absent while off; a long-poll waiting on that ETag wakes on the change.
        let (config, etag) = app.sdk_config(&f.key_secret).await;
        assert!(config.get("call_logs").is_none(), "{config}");
        let waiting = app.long_poll(&f.key_secret, &etag);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let policy = json!({"content": {"sample": 0.25}, "max_bytes": 8192, "redact": true,
            "models": {"claude": "all"}, "retention_days": 3});
        let (s, b) = app
            .call(
                "PUT",
                &path,
                Some(&app.tokens[&switchyard_server::rbac::Role::InterfaceDev]),
                Some(policy.clone()),
            )
            .await;
        assert_eq!((s, &b), (StatusCode::OK, &policy));
        let (s, new_etag, served) =
            tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
                .await
                .expect("the long-poll woke")
                .unwrap();
        assert_eq!(s, StatusCode::OK);
        assert_ne!(new_etag, etag);
        assert_eq!(
            served["call_logs"],
            json!({"content": {"sample": 0.25}, "max_bytes": 8192, "redact": true, "models": {"claude": "all"}})
        );
        let (_, again) = get(&app, &app.admin_a, &path).await;
        assert_eq!(again, policy);
        // Audited as the interface developer's change.
        let (_, audit) = get(
            &app,
            &app.admin_a,
            "/api/v1/audit?action=call_log.configure",
        )
        .await;
        let items = audit["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{audit}");
        assert_eq!(items[0]["target"], f.app.as_str());
        assert_eq!(items[0]["role"], "interface_dev");
        assert!(items[0]["before_digest"].is_string() && items[0]["after_digest"].is_string());
    }
}

/// Seeds six calls of the fixture's app, newest last: (ids, fixture).
async fn seed_search(app: &TestApp) -> (Vec<String>, common::app::Fixture) {
    let f = app.fixture(1).await;
    set_policy(app, &f.app, json!({"content": "all"})).await;
    let mut events = Vec::new();
    for i in 0..6i64 {
        let model = if i % 2 == 0 { "chat" } else { "claude" };
        let mut e = call(
            T0 + i * 60_000,
            model,
            &format!("question number {i}"),
            if i == 4 { "The Zebra answer" } else { "plain" },
        );
        e["user"] = json!(if i < 3 { "alice" } else { "bob" });
        e["tags"] = json!([format!("feature:{}", if i == 5 { "beta" } else { "main" })]);
        e["cache_hit"] = json!(i == 1);
        e["local"] = json!(i == 2);
        if i == 3 {
            e["status"] = json!({"error": {"code": "rate_limited"}});
        }
        events.push(e);
    }
    let (s, ack) = post(app, &f.key_secret, &events, false).await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    let ids = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, f)
}

fn ids_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_filters_newest_first_and_finds_text() {
    for app in apps().await {
        let (ids, f) = seed_search(&app).await;
        let admin = app.admin_a.clone();
        let rev = |picks: &[usize]| -> Vec<String> {
            picks.iter().rev().map(|&i| ids[i].clone()).collect()
        };
        let cases: Vec<(String, Vec<String>)> = vec![
            (String::new(), rev(&[0, 1, 2, 3, 4, 5])),
            (format!("app={}", f.app), rev(&[0, 1, 2, 3, 4, 5])),
            ("app=nope".into(), vec![]),
            ("model=claude".into(), rev(&[1, 3, 5])),
            ("user=alice".into(), rev(&[0, 1, 2])),
            ("tag=feature:beta".into(), rev(&[5])),
            ("outcome=error".into(), rev(&[3])),
            ("outcome=ok&model=claude".into(), rev(&[1, 5])),
            ("cache_hit=true".into(), rev(&[1])),
            ("local=true".into(), rev(&[2])),
            (
                format!("from={}&to={}", T0 + 60_000, T0 + 180_000),
                rev(&[1, 2]),
            ),
            ("text=zebra".into(), rev(&[4])),
            ("text=question%20number%202".into(), rev(&[2])),
            ("text=nowhere-to-be-found".into(), vec![]),
            ("limit=2&offset=1".into(), rev(&[3, 4])),
            ("text=question&limit=2&offset=1".into(), rev(&[3, 4])),
        ];
        for (query, expected) in cases {
            let (s, page) = get(&app, &admin, &format!("/api/v1/call-logs?{query}")).await;
            assert_eq!(s, StatusCode::OK, "{query}: {page}");
            assert_eq!(ids_of(&page), expected, "{query}");
        }
        let (_, page) = get(&app, &admin, "/api/v1/call-logs?text=zebra").await;
        assert_eq!(page["scanned"], 6);
        assert_eq!(page["scan_limit_reached"], false);
        assert_eq!(page["items"][0]["preview"], "question number 4");
        assert_eq!(page["items"][0]["user"], "bob");
        for bad in [
            "outcome=maybe",
            "cache_hit=yes",
            "from=yesterday",
            "sample=3",
        ] {
            let (s, b) = get(&app, &admin, &format!("/api/v1/call-logs?{bad}")).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        }
    }
}

#[tokio::test]
async fn one_call_comes_with_its_usage_and_every_read_of_content_is_audited() {
    for app in apps().await {
        let (ids, _) = seed_search(&app).await;
        let admin = app.tokens[&switchyard_server::rbac::Role::SecurityEngineer].clone();
        let (s, one) = get(&app, &admin, &format!("/api/v1/call-logs/{}", ids[4])).await;
        assert_eq!(s, StatusCode::OK, "{one}");
        assert_eq!(one["content"]["response"]["content"], "The Zebra answer");
        assert_eq!(
            one["content"]["request"]["messages"][1],
            json!({"role": "user", "content": "question number 4"})
        );
        assert_eq!(one["content"]["redacted"], true);
        let usage = &one["usage"];
        assert_eq!(
            (
                usage["prompt_tokens"].as_i64(),
                usage["completion_tokens"].as_i64()
            ),
            (Some(100), Some(20))
        );
        assert_eq!(usage["cost_usd"], 0.01);
        assert_eq!(usage["latency_ms"], 100.0);
        assert_eq!(usage["attempts"], 1);
        assert_eq!(one["deployment"], "openai/gpt-4o-mini");
        assert_eq!(
            (one["cache_hit"].as_bool(), one["local"].as_bool()),
            (Some(false), Some(false))
        );

        // Reads: one call, a search, an export; each an audit record naming what was read.
        get(&app, &admin, "/api/v1/call-logs?model=claude").await;
        let (s, _) = get(&app, &admin, "/api/v1/call-logs/export?sample=2").await;
        assert_eq!(s, StatusCode::OK);
        // A search that shows nothing reads nothing, unless it searched the text.
        get(&app, &admin, "/api/v1/call-logs?app=nope").await;
        get(&app, &admin, "/api/v1/call-logs?text=nope").await;
        let (_, audit) = get(&app, &app.admin_a, "/api/v1/audit?limit=500").await;
        let reads: Vec<(String, String, String)> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["action"].as_str().unwrap().starts_with("call_log.")
                    && r["action"] != "call_log.configure"
            })
            .map(|r| {
                (
                    r["action"].as_str().unwrap().to_owned(),
                    r["target"].as_str().unwrap().to_owned(),
                    r["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let se = "security_engineer".to_owned();
        assert_eq!(
            reads,
            vec![
                ("call_log.search".into(), "call-logs".into(), se.clone()),
                ("call_log.export".into(), "call-logs".into(), se.clone()),
                ("call_log.search".into(), "call-logs".into(), se.clone()),
                ("call_log.read".into(), ids[4].clone(), se),
            ],
            "{audit}"
        );
    }
}

#[tokio::test]
async fn an_export_is_a_jsonl_sample_of_the_matches() {
    for app in apps().await {
        let f = app.fixture(1).await;
        set_policy(&app, &f.app, json!({"content": "all"})).await;
        let events: Vec<Value> = (0..30)
            .map(|i| {
                call(
                    T0 + i,
                    if i < 20 { "chat" } else { "claude" },
                    &format!("q{i}"),
                    "a",
                )
            })
            .collect();
        post(&app, &f.key_secret, &events, false).await;
        let chat: Vec<&str> = events[..20]
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        for (query, lines) in [
            ("sample=10&model=chat", 10),
            ("model=chat&sample=100", 20),
            ("sample=1", 1),
        ] {
            let response = app
                .router
                .clone()
                .oneshot_request(request(
                    "GET",
                    &format!("/api/v1/call-logs/export?{query}"),
                    Some(&app.admin_a),
                    None,
                ))
                .await;
            assert_eq!(response.0, StatusCode::OK);
            assert_eq!(response.1, "application/x-ndjson");
            let got: Vec<Value> = response
                .2
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(got.len(), lines, "{query}");
            let mut seen: Vec<&str> = got.iter().map(|l| l["id"].as_str().unwrap()).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), lines, "distinct");
            for line in &got {
                assert!(line["request"]["messages"].is_array(), "{line}");
                assert_eq!(line["response"]["content"], "a");
                if query.contains("chat") {
                    assert!(chat.contains(&line["id"].as_str().unwrap()));
                }
            }
        }
        for bad in ["sample=0", "sample=1001", "limit=5"] {
            let (s, _) = get(
                &app,
                &app.admin_a,
                &format!("/api/v1/call-logs/export?{bad}"),
            )
            .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}

/// A tiny extension for reading a raw (non-JSON) response.
trait Oneshot {
    async fn oneshot_request(
        self,
        req: axum::http::Request<axum::body::Body>,
    ) -> (StatusCode, String, String);
}

impl Oneshot for axum::Router {
    async fn oneshot_request(
        self,
        req: axum::http::Request<axum::body::Body>,
    ) -> (StatusCode, String, String) {
        use tower::ServiceExt;
        let r = self.oneshot(req).await.unwrap();
        let status = r.status();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
    }
}

#[tokio::test]
async fn retention_prunes_and_a_shorter_one_applies_to_what_is_logged() {
    for app in apps().await {
        let f = app.fixture(1).await;
        set_policy(&app, &f.app, json!({"content": "all", "retention_days": 7})).await;
        let now = now_ms();
        let old = call(now - 3 * 86_400_000, "chat", "old", "a");
        let new = call(now - 60_000, "chat", "new", "a");
        post(&app, &f.key_secret, &[old, new.clone()], false).await;
        assert_eq!(app.store.prune_call_logs(now_ms()).await.unwrap(), 0);
        assert_eq!(logged(&app).await, 2);
        set_policy(&app, &f.app, json!({"content": "all", "retention_days": 2})).await;
        assert_eq!(app.store.prune_call_logs(now_ms()).await.unwrap(), 1);
        let (_, page) = get(&app, &app.admin_a, "/api/v1/call-logs").await;
        assert_eq!(ids_of(&page), vec![new["id"].as_str().unwrap().to_owned()]);
        // Eight days on, the rest is gone too; the usage events stay (their own retention).
        assert_eq!(
            app.store
                .prune_call_logs(now_ms() + 8 * 86_400_000)
                .await
                .unwrap(),
            1
        );
        assert_eq!(logged(&app).await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM usage_events").await, 2);
    }
}

#[tokio::test]
async fn roles_scopes_and_other_tenants_see_only_what_they_may() {
    use switchyard_server::rbac::Role;
    for app in apps().await {
        let mine = app.fixture(1).await;
        let other = app.fixture(2).await;
        let my_call = logged_call(&app, &mine, "mine").await;
        let other_call = logged_call(&app, &other, "theirs").await;
        // An app developer bound to department 1 sees that department's apps' calls only.
        let dev = app
            .user_with(
                "dev1",
                json!([{"role": "app_developer", "department_id": mine.dept}]),
            )
            .await;
        let (s, page) = get(&app, &dev, "/api/v1/call-logs").await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(ids_of(&page), vec![my_call.clone()]);
        let (s, _) = get(&app, &dev, &format!("/api/v1/call-logs/{my_call}")).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = get(&app, &dev, &format!("/api/v1/call-logs/{other_call}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = get(
            &app,
            &dev,
            &format!("/api/v1/call-logs?department={}", other.dept),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, export) = app
            .call(
                "GET",
                "/api/v1/call-logs/export?sample=10",
                Some(&dev),
                None,
            )
            .await;
        // One line parses as a JSON object, more stay text: either way, by its text.
        let export = export.to_string();
        assert!(export.contains(&my_call), "{export}");
        assert!(!export.contains(&other_call));
        // It may not set a policy.
        let (s, _) = app
            .call(
                "PUT",
                &format!("/api/v1/apps/{}/call-logs", mine.app),
                Some(&dev),
                Some(json!({"content": "all"})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // An interface developer bound to department 1 sets its apps' policy, not others'.
        let idev = app
            .user_with(
                "idev1",
                json!([{"role": "interface_dev", "department_id": mine.dept}]),
            )
            .await;
        for (f, status) in [(&mine, StatusCode::OK), (&other, StatusCode::NOT_FOUND)] {
            let (s, _) = app
                .call(
                    "PUT",
                    &format!("/api/v1/apps/{}/call-logs", f.app),
                    Some(&idev),
                    Some(json!({"content": "all"})),
                )
                .await;
            assert_eq!(s, status);
        }
        // A resource manager sees no content at all.
        let rm = &app.tokens[&Role::ResourceManager];
        for path in [
            "/api/v1/call-logs".to_owned(),
            "/api/v1/call-logs/export".to_owned(),
            format!("/api/v1/call-logs/{my_call}"),
        ] {
            let (s, b) = get(&app, rm, &path).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
            assert!(!b.to_string().contains("mine"));
        }
        // A deleted app's policy goes with it; the calls it logged stay until retention.
        let (s, _) = app
            .call(
                "DELETE",
                &format!("/api/v1/apps/{}", other.app),
                Some(&app.admin_a),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (policies,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM call_log_policies WHERE app_id = $1")
                .bind(&other.app)
                .fetch_one(&app.store.db.pool)
                .await
                .unwrap();
        assert_eq!(policies, 0);
        let (s, _) = get(
            &app,
            &app.admin_a,
            &format!("/api/v1/call-logs/{other_call}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        // Another tenant: 404 for the id, as for one that does not exist, and empty lists.
        let (s1, b1) = get(&app, &app.token_b, &format!("/api/v1/call-logs/{my_call}")).await;
        let (s2, b2) = get(
            &app,
            &app.token_b,
            "/api/v1/call-logs/0190aaaa-0000-7000-8000-000000000000",
        )
        .await;
        assert_eq!((s1, &b1), (StatusCode::NOT_FOUND, &b2));
        assert_eq!(s2, StatusCode::NOT_FOUND);
        let (_, page) = get(&app, &app.token_b, "/api/v1/call-logs?text=mine").await;
        assert_eq!(ids_of(&page), Vec::<String>::new());
    }
}

#[tokio::test]
async fn the_gateways_usage_path_stores_content_by_the_apps_policy() {
    use switchyard::telemetry::UsageEvent;
    for app in apps().await {
        let on = app.fixture(1).await;
        let off = app.fixture(2).await;
        set_policy(&app, &on.app, json!({"content": "all"})).await;
        let recorder = app.state.gateway.usage();
        let mut ids = Vec::new();
        for f in [&on, &off] {
            let key = app
                .store
                .authenticate_app_key(&f.key_secret)
                .await
                .unwrap()
                .unwrap();
            let sink = recorder.sink(&app.state, &key);
            let e = call(now_ms(), "chat", "through the gateway", "gateway answer");
            ids.push(e["id"].as_str().unwrap().to_owned());
            let event: UsageEvent = serde_json::from_value(e).unwrap();
            sink.record(&event);
        }
        recorder.flush().await;
        // Both calls' usage is stored; only the opted-in app's content.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM usage_events").await, 2);
        let (_, page) = get(
            &app,
            &app.admin_a,
            "/api/v1/call-logs?text=gateway%20answer",
        )
        .await;
        assert_eq!(ids_of(&page), vec![ids[0].clone()]);
        assert_eq!(page["items"][0]["app_id"], on.app.as_str());
    }
}

#[tokio::test]
async fn a_master_key_rotation_reseals_the_logged_calls() {
    use switchyard_server::crypto::MasterKey;
    for app in apps().await {
        let f = app.fixture(1).await;
        let id = logged_call(&app, &f, "kept across rotation").await;
        let old = app.state.master_key.as_deref().unwrap().clone();
        let new = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        app.store
            .rotate_master_key(&common::ctx(), &old, &new)
            .await
            .unwrap();
        let (sealed,): (String,) = sqlx::query_as("SELECT sealed FROM call_logs WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.store.db.pool)
            .await
            .unwrap();
        assert!(sealed.starts_with(&format!("v1:{}:", new.id())), "{sealed}");
        let json =
            switchyard_server::call_logs::sealing::open(&new, &app.tenant_a, &id, &sealed).unwrap();
        assert!(json.contains("kept across rotation"));
    }
}
