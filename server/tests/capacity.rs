//! Health and capacity through the API on SQLite and PostgreSQL: three weeks of hourly
//! usage with a working-day shape for a self-hosted (vLLM) deployment and a hosted one;
//! health now and at peak, the forecast with its backtest, the replicas recommended from
//! the catalogue's per-replica throughput, and the Prometheus gauge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard::sdk_protocol::USAGE_MAX_EVENTS;
use switchyard_server::rbac::Role;
use switchyard_server::util::now_ms;

use common::app::apps;
use common::usage::{event, post};

const HOUR: i64 = 3_600_000;

fn catalogue() -> Value {
    json!({
        "version": 1,
        "providers": {
            "vllm": {"kind": "vllm", "base_url": "http://vllm.internal:8000/v1"},
            "openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"}
        },
        "models": {"chat": {"deployments": [
            {"provider": "vllm", "model": "llama", "capacity": {"rpm": 1}},
            {"provider": "openai", "model": "gpt-4o-mini"}
        ]}}
    })
}

/// Calls in hour `i` of the history: 120 in working hours of working days, else 6.
fn calls_in(i: i64) -> i64 {
    let (hour, day) = (i % 24, (i / 24) % 7);
    if day < 5 && (8..18).contains(&hour) {
        120
    } else {
        6
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_forecast_and_replicas_for_a_self_hosted_deployment() {
    for app in apps().await {
        app.activate(&app.admin_a, catalogue()).await;
        let key = app.app_key("svc", None).await;
        let now = now_ms();
        let this_hour = now - now.rem_euclid(HOUR);
        let start = this_hour - 3 * 168 * HOUR;
        let mut events = Vec::new();
        for i in 0..3 * 168 {
            let n = calls_in(i);
            for k in 0..n {
                let at = start + i * HOUR + k * HOUR / n;
                events.push(event(at, "chat", "vllm/llama", 0.0, 100.0));
            }
            events.push(event(
                start + i * HOUR,
                "chat",
                "openai/gpt-4o-mini",
                0.001,
                300.0,
            ));
        }
        // Now: five calls in the current minute, one failed, 2 s each.
        let minute = now - now.rem_euclid(60_000);
        for k in 0..5 {
            let mut e = event(minute + k, "chat", "vllm/llama", 0.0, 2000.0);
            if k == 0 {
                e["status"] = json!({"error": {"code": "upstream_5xx"}});
            }
            events.push(e);
        }
        for batch in events.chunks(USAGE_MAX_EVENTS) {
            let (s, b) = post(&app, &key, batch, false).await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }

        let (s, health) = app
            .call(
                "GET",
                "/api/v1/health/deployments",
                Some(&app.tokens[&Role::ModelOps]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{health}");
        let vllm = health
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["deployment"] == "vllm/llama")
            .unwrap();
        let now_load = &vllm["now"];
        assert_eq!(now_load["requests_per_minute"], 1.0, "{vllm}");
        assert_eq!(now_load["error_rate"], 0.2);
        // Little's law: 5 calls of 2 s over 300 s.
        let concurrency = now_load["concurrency"].as_f64().unwrap();
        assert!((concurrency - 10.0 / 300.0).abs() < 1e-9, "{concurrency}");
        assert!(now_load["p95_ms"].as_f64().unwrap() >= 1000.0, "{vllm}");
        assert_eq!(vllm["peak"]["requests_per_minute"], 5.0, "{vllm}");
        assert_eq!(vllm["peak_minute"], minute);
        assert!(vllm["rate_limit_headroom"].is_null());

        let (s, report) = app
            .call(
                "GET",
                "/api/v1/capacity/report",
                Some(&app.tokens[&Role::ResourceManager]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{report}");
        let rows = report.as_array().unwrap();
        let row = |d: &str| rows.iter().find(|r| r["deployment"] == d).unwrap();
        let vllm = row("vllm/llama");
        let f = &vllm["forecast"];
        assert_eq!(f["hourly"].as_array().unwrap().len(), 168);
        let wape = f["backtest_wape"].as_f64().unwrap();
        assert!(wape < 0.10, "backtest WAPE {wape}");
        let peak = f["peak"].as_f64().unwrap();
        assert!((110.0..=130.0).contains(&peak), "peak {peak}");
        // The forecast keeps the shape: the hour of week after the history is hour 0 of
        // day 0 again (quiet), working hours busy.
        let hourly: Vec<f64> = f["hourly"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            hourly[3] < 20.0 && hourly[12] > 100.0,
            "{:?}",
            &hourly[..24]
        );
        // The history it was fitted on: every complete hour since the first, as seeded.
        assert_eq!(vllm["history_from"], start);
        let history: Vec<i64> = vllm["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as i64)
            .collect();
        assert_eq!(history.len(), 3 * 168);
        assert!((0..3 * 168).all(|i| history[i as usize] == calls_in(i)));
        eprintln!("capacity: backtest WAPE {wape:.4}, forecast peak {peak:.1} calls/h");
        assert_eq!(vllm["per_replica_rpm"], 1);
        assert_eq!(vllm["replicas_now"], 1);
        assert_eq!(vllm["replicas_at_peak"], 2, "{vllm}");
        // A hosted deployment has a forecast but no replicas.
        let hosted = row("openai/gpt-4o-mini");
        assert!(hosted["forecast"]["peak"].as_f64().unwrap() > 0.0);
        assert!(hosted["replicas_now"].is_null());

        let (s, metrics) = app.call("GET", "/metrics", None, None).await;
        assert_eq!(s, StatusCode::OK);
        let text = metrics.as_str().unwrap();
        let gauge = format!(
            "switchyard_recommended_replicas{{tenant=\"{}\",deployment=\"vllm/llama\",at=\"peak\"}} 2",
            app.tenant_a
        );
        assert!(text.contains(&gauge), "{text}");
        assert!(!text.contains("deployment=\"openai/gpt-4o-mini\""));
    }
}
