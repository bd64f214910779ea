//! Usage events for tests: building them, posting batches (plain or gzip) to an
//! in-process router, and reading back what the database holds.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchyard_server::store::Store;

use super::app::TestApp;

/// 2026-11-10T00:00:00Z.
pub const T0: i64 = 1_794_268_800_000;

/// A new random UUID (v4 layout).
pub fn uuid() -> String {
    let h = switchyard_server::util::random_hex(16);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// A valid event: `model` through `deployment`, at `time_ms`, costing `cost_usd`.
pub fn event(time_ms: i64, model: &str, deployment: &str, cost_usd: f64, latency_ms: f64) -> Value {
    json!({
        "id": uuid(), "time_ms": time_ms, "tenant": null, "app": null, "user": "u1",
        "model": model, "deployment": deployment, "provider": "openai",
        "upstream_model": "gpt-4o-mini", "prompt_tokens": 100, "completion_tokens": 20,
        "cached_tokens": 10, "cost_usd": cost_usd, "latency_ms": latency_ms, "ttft_ms": 50.0,
        "status": "ok", "cache_hit": false, "attempts": 1, "fallback": null, "fallbacks": 0,
        "arm": null, "local": false, "stream": false, "tags": ["team:a"], "metadata": {}
    })
}

/// `n` events spread over three minutes, two models, a few errors and cache hits.
pub fn batch_of(n: usize, start_ms: i64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let (model, dep) = if i % 3 == 0 {
                ("claude", "anthropic/haiku")
            } else {
                ("chat", "openai/gpt-4o-mini")
            };
            let mut e = event(
                start_ms + (i as i64 % 3) * 60_000 + i as i64,
                model,
                dep,
                0.000_123 * (i + 1) as f64,
                (i * 37 % 3000) as f64,
            );
            if i % 7 == 0 {
                e["status"] = json!({"error": {"code": "timeout"}});
            }
            e["cache_hit"] = json!(i % 5 == 0);
            e["local"] = json!(i % 11 == 0);
            e
        })
        .collect()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A usage POST of `body` (gzipped when `gzip`) with app key `key`.
pub fn usage_request(key: Option<&str>, body: Vec<u8>, gzipped: bool) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/sdk/v1/usage")
        .header("content-type", "application/json");
    if let Some(key) = key {
        b = b.header("authorization", format!("Bearer {key}"));
    }
    if gzipped {
        b = b.header("content-encoding", "gzip");
    }
    b.body(Body::from(body)).unwrap()
}

pub async fn post(
    app: &TestApp,
    key: &str,
    events: &[Value],
    gzipped: bool,
) -> (StatusCode, Value) {
    let body = json!({"dropped": 0, "events": events})
        .to_string()
        .into_bytes();
    let body = if gzipped { gzip(&body) } else { body };
    let (s, b, _) = app.send(usage_request(Some(key), body, gzipped)).await;
    (s, b)
}

/// (raw events, rollup calls, rollup cost micros, rollup histogram total) of the database.
pub async fn totals(store: &Store) -> (i64, i64, i64, i64) {
    let (raw,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM usage_events")
        .fetch_one(&store.db.pool)
        .await
        .unwrap();
    let lat: Vec<String> = (0..12).map(|i| format!("lat_{i}")).collect();
    let (calls, cost, hist): (i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT), CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT), CAST(COALESCE(SUM({}), 0) AS BIGINT) FROM usage_minute",
        lat.join(" + ")
    ))
    .fetch_one(&store.db.pool)
    .await
    .unwrap();
    (raw, calls, cost, hist)
}

/// The rollups recomputed from the raw events, and as stored, both grouped by
/// (minute, model, deployment): (key, calls, errors, tokens, cost, cache hits, local).
pub async fn rollups_vs_raw(store: &Store) -> (Vec<Value>, Vec<Value>) {
    type Row = (i64, String, String, i64, i64, i64, i64, i64, i64);
    let raw: Vec<Row> = sqlx::query_as(
        "SELECT time_ms - (time_ms % 60000) AS m, model, deployment, COUNT(*), \
         CAST(SUM(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
         CAST(SUM(prompt_tokens + completion_tokens + cached_tokens) AS BIGINT), CAST(SUM(cost_micros) AS BIGINT), \
         CAST(SUM(cache_hit) AS BIGINT), CAST(SUM(local) AS BIGINT) FROM usage_events \
         GROUP BY time_ms - (time_ms % 60000), model, deployment ORDER BY 1, 2, 3",
    )
    .fetch_all(&store.db.pool)
    .await
    .unwrap();
    let rolled: Vec<Row> = sqlx::query_as(
        "SELECT minute, model, deployment, CAST(SUM(calls) AS BIGINT), CAST(SUM(errors) AS BIGINT), \
         CAST(SUM(prompt_tokens + completion_tokens + cached_tokens) AS BIGINT), CAST(SUM(cost_micros) AS BIGINT), \
         CAST(SUM(cache_hits) AS BIGINT), CAST(SUM(local_calls) AS BIGINT) FROM usage_minute \
         GROUP BY minute, model, deployment ORDER BY 1, 2, 3",
    )
    .fetch_all(&store.db.pool)
    .await
    .unwrap();
    let to_json = |rows: Vec<Row>| {
        rows.into_iter()
            .map(|r| json!([r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8]))
            .collect()
    };
    (to_json(raw), to_json(rolled))
}

/// Call-log content in the contract's shape: a user's `prompt` and the model's `answer`.
pub fn content(prompt: &str, answer: &str) -> Value {
    json!({
        "request": {"model": "chat", "temperature": 0.2, "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": prompt}
        ]},
        "response": {"content": answer, "finish_reason": "stop"},
        "error": null, "redacted": true, "truncated": false, "original_bytes": 200
    })
}

/// Sets `app`'s call-log policy to `policy` as tenant A's admin.
pub async fn set_policy(app: &TestApp, app_id: &str, policy: Value) -> Value {
    let (s, b) = app
        .call(
            "PUT",
            &format!("/api/v1/apps/{app_id}/call-logs"),
            Some(&app.admin_a),
            Some(policy),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// Turns logging on for the fixture's app and posts one call with content asking
/// `prompt`: its id.
pub async fn logged_call(app: &TestApp, fx: &super::app::Fixture, prompt: &str) -> String {
    set_policy(app, &fx.app, json!({"content": "all"})).await;
    let mut e = event(T0, "chat", "openai/gpt-4o-mini", 0.01, 100.0);
    e["content"] = content(prompt, "an answer");
    let (s, ack) = post(app, &fx.key_secret, std::slice::from_ref(&e), false).await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    e["id"].as_str().unwrap().to_owned()
}
