//! Rollouts end to end, on SQLite and PostgreSQL: a core client in server mode calls a mock
//! provider whose candidate deployment fails a scripted 30% of calls; its usage reaches the
//! server, the rollout job sees the guard breached and rolls back to the baseline, and the
//! client follows the rollback. A healthy candidate is promoted step by step to 100%.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client, ConfigServer};
use switchyard_mock_provider::{MockServer, Script};
use switchyard_server::rollout::guard::{Decision, decide};
use switchyard_server::rollout::job;
use switchyard_server::store::Page;
use switchyard_server::util::now_ms;

use common::app::{TestApp, apps};

/// How often the job looks in these tests.
const JOB_EVERY: Duration = Duration::from_millis(200);

/// The mock's script: `base` always answers; `cand` answers 7 calls in 10 and fails 3
/// (HTTP 500), or always answers when `healthy`.
fn script(healthy: bool) -> Script {
    let cand = if healthy {
        "[ { content: candidate } ]".to_owned()
    } else {
        let cycle = "{ times: 7, content: candidate }, { times: 3, status: 500 }";
        format!("[ {} ]", vec![cycle; 500].join(", "))
    };
    Script::from_yaml(&format!(
        "models: {{ base: [ {{ content: baseline }} ], cand: {cand} }}"
    ))
    .unwrap()
}

/// The model `chat` with a baseline (`v1`) and a candidate (`v2`) deployment, all traffic
/// on the baseline.
fn document(mock: &str) -> Value {
    json!({
        "version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": format!("{mock}/v1")}},
        "models": {"chat": {
            "deployments": [
                {"provider": "mock", "model": "base", "name": "base", "version": "v1"},
                {"provider": "mock", "model": "cand", "name": "cand", "version": "v2"}
            ],
            "rollout": {"sticky_by": "user", "split": {"v1": 100.0, "v2": 0.0}}
        }}
    })
}

async fn build(server: ConfigServer) -> Client {
    tokio::task::spawn_blocking(move || Client::builder().server(server).build())
        .await
        .unwrap()
        .unwrap()
}

/// The candidate's share in the client's current config.
fn client_share(client: &Client) -> f64 {
    client.config().models["chat"]
        .rollout
        .as_ref()
        .and_then(|r| r.split.get("v2").copied())
        .unwrap_or(-1.0)
}

async fn wait_share(client: &Client, percent: f64, within: Duration) {
    let start = Instant::now();
    while (client_share(client) - percent).abs() > 1e-9 {
        assert!(
            start.elapsed() < within,
            "the client's candidate share is {}, not {percent}",
            client_share(client)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `n` calls, each for another user, then a flush: usage at the server.
async fn calls(client: &Client, from: usize, n: usize) -> usize {
    let mut failed = 0;
    for i in from..from + n {
        let options = CallOptions {
            user: Some(format!("user-{i}")),
            max_retries: Some(0),
            ..CallOptions::default()
        };
        let request = ChatRequest::new("chat", vec![Message::user("hi")]);
        if client.chat(request, &options).await.is_err() {
            failed += 1;
        }
    }
    client.flush().await;
    failed
}

async fn rollout(app: &TestApp, id: &str) -> Value {
    let token = Some(app.admin_a.as_str());
    let (s, body) = app
        .call("GET", &format!("/api/v1/rollouts/{id}"), token, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

/// The server events of `kind` (rollout ones, from the server_events table).
async fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    let events = app
        .store
        .tenant(&app.tenant_a)
        .list_server_events(Page::default())
        .await
        .unwrap();
    events
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

struct Setup {
    app: TestApp,
    client: Client,
    job: tokio::task::JoinHandle<()>,
    serving: tokio::task::JoinHandle<()>,
    /// Kept alive for the calls.
    _mock: MockServer,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.job.abort();
        self.serving.abort();
    }
}

async fn setup(app: TestApp, healthy: bool) -> Setup {
    let mock = MockServer::start_with(script(healthy)).await.unwrap();
    app.activate(&app.admin_a, document(&mock.url())).await;
    let key = app.app_key("checkout", None).await;
    let (url, serving) = app.listen().await;
    let job = job::spawn(app.state.clone(), JOB_EVERY);
    let client = build(ConfigServer::new(&url, &key).long_poll(Duration::from_secs(30))).await;
    Setup {
        app,
        client,
        job,
        serving,
        _mock: mock,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_is_rolled_back_within_its_guard_window() {
    for app in apps().await {
        let setup = setup(app, false).await;
        let (app, client) = (&setup.app, &setup.client);
        let model_ops = app.tokens[&switchyard_server::rbac::Role::ModelOps].clone();
        let (s, created) = app
            .call(
                "POST",
                "/api/v1/rollouts",
                Some(&model_ops),
                Some(json!({
                    "name": "cand-canary", "model": "chat", "baseline": "v1", "candidate": "v2",
                    "steps": [
                        {"percent": 50, "dwell_secs": 600, "min_samples": 1000},
                        {"percent": 100}
                    ],
                    "guards": {"min_samples": 30, "max_error_rate_increase": 0.1}
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        // The first step reaches the client through its long-poll.
        wait_share(client, 50.0, Duration::from_secs(5)).await;

        // Calls in batches of 20 until the server's figures breach the guard; from then,
        // the time until the rollout is rolled back.
        let mut sent = 0;
        let breached_at = loop {
            assert!(sent < 2_000, "no breach after {sent} calls");
            calls(client, sent, 20).await;
            sent += 20;
            let flushed = Instant::now();
            let now = rollout(app, &id).await;
            if now["state"] == "rolled_back" {
                break flushed;
            }
            let r = app
                .store
                .tenant(&app.tenant_a)
                .get_rollout(&id)
                .await
                .unwrap();
            let (b, c) = job::arms_since(&app.state, &app.tenant_a, &r, r.step_started_at)
                .await
                .unwrap();
            if matches!(decide(&r, &b, &c, now_ms()), Decision::RollBack { .. }) {
                break flushed;
            }
        };
        let mut rolled = rollout(app, &id).await;
        while rolled["state"] != "rolled_back" {
            assert!(
                breached_at.elapsed() < Duration::from_secs(10),
                "not rolled back 10 s after the breach: {rolled}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
            rolled = rollout(app, &id).await;
        }
        let took = breached_at.elapsed();
        eprintln!("breach to rollback: {took:?} (job every {JOB_EVERY:?}), after {sent} calls");
        // Within a couple of job periods, and long before the step's 600 s dwell ended.
        assert!(took < JOB_EVERY * 5 + Duration::from_secs(1), "{took:?}");
        assert_eq!(rolled["step"], 0, "{rolled}");
        assert!(
            rolled["reason"].as_str().unwrap().starts_with("error rate"),
            "{rolled}"
        );
        let evidence = &rolled["evidence"];
        let cand_rate = evidence["candidate"]["error_rate"].as_f64().unwrap();
        assert!((0.15..=0.45).contains(&cand_rate), "{evidence}");
        assert_eq!(evidence["baseline"]["errors"], 0, "{evidence}");
        assert!(evidence["guard"]["test"]["p_worse"].as_f64().unwrap() < 0.05);

        // The baseline is back for the client, within one long-poll.
        wait_share(client, 0.0, Duration::from_secs(5)).await;
        let text = client
            .chat(
                ChatRequest::new("chat", vec![Message::user("hi")]),
                &CallOptions {
                    user: Some("user-0".into()),
                    ..CallOptions::default()
                },
            )
            .await
            .unwrap()
            .response
            .text();
        assert_eq!(text, "baseline");

        // The server event the alerts read, and the audited activation with its reason.
        let events = events_of(app, "rollout.rolled_back").await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["subject_id"], id.as_str());
        let detail = &events[0]["detail"];
        assert_eq!(detail["rollout"], "cand-canary");
        assert_eq!(detail["model"], "chat");
        assert_eq!(detail["reason"], rolled["reason"]);
        assert!(detail["evidence"]["candidate"]["calls"].as_u64().unwrap() >= 30);
        let (_, active) = app
            .call("GET", "/api/v1/configs/active", Some(&model_ops), None)
            .await;
        let label = active["version"]["label"].as_str().unwrap();
        assert!(
            label.starts_with("rollout cand-canary: 0% (error rate"),
            "{label}"
        );
        assert_eq!(active["version"]["author"], "rollout:cand-canary");
        let (_, audit) = app
            .call("GET", "/api/v1/audit", Some(&app.admin_a), None)
            .await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"] == id.as_str())
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"rollout.rollback"), "{actions:?}");

        // The A/B report agrees with the mock's script: the candidate's errors only.
        let (s, report) = app
            .call(
                "GET",
                &format!("/api/v1/rollouts/{id}/report"),
                Some(&model_ops),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{report}");
        let (b, c) = (&report["baseline"], &report["candidate"]);
        assert_eq!(
            b["calls"].as_u64().unwrap() + c["calls"].as_u64().unwrap(),
            sent as u64,
            "{report}"
        );
        assert_eq!(b["errors"], 0);
        assert!(
            report["error_rate_test"]["z"].as_f64().unwrap() > 2.0,
            "{report}"
        );
        assert!(report["latency_test"].is_object(), "{report}");
        // The per-arm rollups hold the same calls and errors as the raw events.
        for arm in [b, c] {
            let minutes: Vec<&Value> = report["series"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["arm"] == arm["arm"])
                .collect();
            let sum = |f: &str| minutes.iter().map(|m| m[f].as_u64().unwrap()).sum::<u64>();
            assert_eq!(sum("calls"), arm["calls"].as_u64().unwrap(), "{report}");
            assert_eq!(sum("errors"), arm["errors"].as_u64().unwrap(), "{report}");
            assert!(minutes.iter().all(|m| m["p95_latency_ms"].is_number()));
        }

        // Over: no more manual moves.
        let (s, _) = app
            .call(
                "POST",
                &format!("/api/v1/rollouts/{id}/promote"),
                Some(&model_ops),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_is_promoted_step_by_step() {
    for app in apps().await {
        let setup = setup(app, true).await;
        let (app, client) = (&setup.app, &setup.client);
        let token = app.admin_a.clone();
        let (s, created) = app
            .call(
                "POST",
                "/api/v1/rollouts",
                Some(&token),
                Some(json!({
                    "name": "healthy", "model": "chat", "baseline": "v1", "candidate": "v2",
                    "steps": [
                        {"percent": 10, "dwell_secs": 1, "min_samples": 3},
                        {"percent": 50, "dwell_secs": 1, "min_samples": 10},
                        {"percent": 100}
                    ],
                    "sticky_by": "user",
                    "guards": {"min_samples": 5, "max_error_rate_increase": 0.05,
                               "max_p95_latency_ratio": 20.0}
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        // A second live rollout of the same model is refused.
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/rollouts",
                Some(&token),
                Some(json!({"name": "other", "model": "chat", "baseline": "v1",
                            "candidate": "v2", "steps": [{"percent": 5}]})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);

        // Each share the client sees, in order, while it keeps calling.
        wait_share(client, 10.0, Duration::from_secs(5)).await;
        let mut seen = vec![client_share(client)];
        let start = Instant::now();
        let mut sent = 0;
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "not completed: {}",
                rollout(app, &id).await
            );
            assert_eq!(calls(client, sent, 10).await, 0);
            sent += 10;
            let share = client_share(client);
            if seen.last() != Some(&share) {
                seen.push(share);
            }
            if rollout(app, &id).await["state"] == "completed" {
                break;
            }
        }
        wait_share(client, 100.0, Duration::from_secs(5)).await;
        if seen.last() != Some(&100.0) {
            seen.push(100.0);
        }
        assert_eq!(seen, [10.0, 50.0, 100.0]);
        eprintln!(
            "promoted to 100% in {:?} after {sent} calls",
            start.elapsed()
        );

        let events = events_of(app, "rollout.completed").await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events_of(app, "rollout.rolled_back").await.is_empty());
        // One activation per step, each labelled with its reason.
        let (_, versions) = app.call("GET", "/api/v1/configs", Some(&token), None).await;
        let labels: Vec<&str> = versions["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["label"].as_str())
            .collect();
        assert_eq!(labels.len(), 3, "{labels:?}");
        assert!(labels[0].starts_with("rollout healthy: 100% (step 2 (50%) healthy"));
        assert!(labels[1].starts_with("rollout healthy: 50% (step 1 (10%) healthy"));
        assert_eq!(labels[2], "rollout healthy: step 1 (10%), started");
    }
}

#[tokio::test]
async fn pause_resume_and_abort_by_hand() {
    for app in apps().await {
        let setup = setup(app, true).await;
        let (app, client) = (&setup.app, &setup.client);
        setup.job.abort();
        let token = Some(app.admin_a.as_str());
        let (_, created) = app
            .call(
                "POST",
                "/api/v1/rollouts",
                token,
                Some(json!({"name": "manual", "model": "chat", "baseline": "v1",
                            "candidate": "v2", "steps": [{"percent": 25}, {"percent": 100}]})),
            )
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let act = |action: &'static str| {
            let app = &app;
            let id = id.clone();
            async move {
                app.call(
                    "POST",
                    &format!("/api/v1/rollouts/{id}/{action}"),
                    Some(app.admin_a.as_str()),
                    None,
                )
                .await
            }
        };
        let (s, paused) = act("pause").await;
        assert_eq!(
            (s, paused["state"].as_str()),
            (StatusCode::OK, Some("paused"))
        );
        // Idempotent: a paused rollout stays paused, and keeps its step's start.
        let (s, again) = act("pause").await;
        assert_eq!(
            (s, &again["updated_at"]),
            (StatusCode::OK, &paused["updated_at"])
        );
        let (s, resumed) = act("resume").await;
        assert_eq!(
            (s, resumed["state"].as_str()),
            (StatusCode::OK, Some("running"))
        );
        calls(client, 0, 10).await;
        let (s, aborted) = act("abort").await;
        assert_eq!(s, StatusCode::OK, "{aborted}");
        assert_eq!(aborted["state"], "rolled_back");
        assert_eq!(aborted["reason"], "abort by admin");
        wait_share(client, 0.0, Duration::from_secs(5)).await;
        let events = events_of(app, "rollout.rolled_back").await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["detail"]["reason"], "abort by admin");
        assert_eq!(events[0]["detail"]["evidence"]["percent"], 25.0);
        // Other roles: a reader may look, only model_ops and infra_admin may move.
        use switchyard_server::rbac::Role;
        let (s, _) = app
            .call(
                "GET",
                &format!("/api/v1/rollouts/{id}/report"),
                Some(&app.tokens[&Role::SecurityEngineer]),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/rollouts",
                Some(&app.tokens[&Role::ResourceManager]),
                Some(json!({"name": "x", "model": "chat", "baseline": "v1",
                            "candidate": "v2", "steps": [{"percent": 5}]})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Bad definitions are 422s naming the field.
        for (body, field) in [
            (
                json!({"name": "b", "model": "chat", "baseline": "v1", "candidate": "v1", "steps": [{"percent": 5}]}),
                "candidate",
            ),
            (
                json!({"name": "b", "model": "chat", "baseline": "v1", "candidate": "v2", "steps": [{"percent": 50}, {"percent": 20}]}),
                "steps[1].percent",
            ),
            (
                json!({"name": "b", "model": "nope", "baseline": "v1", "candidate": "v2", "steps": [{"percent": 5}]}),
                "model",
            ),
            (
                json!({"name": "b", "model": "chat", "baseline": "v1", "candidate": "v9", "steps": [{"percent": 5}]}),
                "model",
            ),
        ] {
            let (s, err) = app
                .call("POST", "/api/v1/rollouts", token, Some(body))
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
            assert_eq!(err["field"], field, "{err}");
        }
    }
}
