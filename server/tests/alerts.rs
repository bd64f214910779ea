//! Alerts end to end on SQLite and PostgreSQL: each rule kind, created through the API by
//! its category's role, fires once and resolves once on real usage, server events and
//! security events, with exactly one notification each at a local webhook receiver
//! (signed) and a local SMTP receiver; a failing webhook is retried with backoff and every
//! attempt is logged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchyard_server::alerts::{AlertSettings, spawn};
use switchyard_server::rbac::Role;
use switchyard_server::util::now_ms;

use common::app::TestApp;
use common::usage::{event, post};

/// What the receiver got: the path, headers, raw body, and when.
#[derive(Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    raw: Vec<u8>,
    at: Instant,
}

impl Received {
    fn body(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap()
    }
}

/// A local webhook receiver answering 500 to its first `fail_first` requests.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn receiver(fail_first: usize) -> Receiver {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = got.clone();
    let router = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push(Received {
                    path: uri.path().to_owned(),
                    headers,
                    raw: body.to_vec(),
                    at: Instant::now(),
                });
                if seen.len() <= fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Receiver { url, got, task }
}

impl Receiver {
    /// Waits until `n` requests arrived (or 10 s): all that arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Waits until the SMTP receiver holds `n` messages (or 10 s): all it holds.
async fn wait_for_mail(
    smtp: &common::smtp::SmtpSink,
    n: usize,
) -> Vec<(common::smtp::Mail, Instant)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = smtp.mails.lock().unwrap().clone();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn settings() -> AlertSettings {
    AlertSettings {
        interval: Duration::from_millis(100),
        attempts: 3,
        backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(2),
        grace_ms: 0,
    }
}

const SECRET: &str = "whsec-test-0123456789";

/// Checks the signature with an HMAC computed here, not by the server's own code.
fn assert_signed(r: &Received) {
    let ts = r.headers["x-switchyard-timestamp"].to_str().unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&r.raw);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.headers["x-switchyard-signature"], expected.as_str());
}

/// What a case does to make its condition hold, or stop holding.
enum Act {
    Usage(Vec<Value>),
    AuthFailures(usize),
    RolledBack,
    Budget(f64),
    Nothing,
}

struct Case {
    category: &'static str,
    role: Role,
    channel_kind: &'static str,
    kind: &'static str,
    params: Value,
    trigger: Act,
    clear: Act,
}

fn usage(n: usize, deployment: &str, error: bool, latency_ms: f64, cost: f64) -> Act {
    usage_at(n, now_ms(), deployment, error, latency_ms, cost)
}

fn usage_at(n: usize, at: i64, deployment: &str, error: bool, latency_ms: f64, cost: f64) -> Act {
    Act::Usage(
        (0..n)
            .map(|_| {
                let mut e = event(at, "chat", deployment, cost, latency_ms);
                if error {
                    e["status"] = json!({"error": {"code": "upstream_5xx"}});
                }
                e
            })
            .collect(),
    )
}

fn cases() -> Vec<Case> {
    let hour_ago = now_ms() - 30 * 60_000;
    vec![
        Case {
            category: "health",
            role: Role::ModelOps,
            channel_kind: "webhook",
            kind: "error_rate",
            params: json!({"window_minutes": 5, "threshold": 0.5, "min_calls": 2}),
            trigger: usage(4, "openai/a", true, 100.0, 0.001),
            clear: usage(40, "openai/a", false, 100.0, 0.001),
        },
        Case {
            category: "health",
            role: Role::ModelOps,
            channel_kind: "webhook",
            kind: "p95_latency",
            params: json!({"window_minutes": 5, "threshold_ms": 1000}),
            trigger: usage(5, "openai/a", false, 5000.0, 0.001),
            clear: usage(200, "openai/a", false, 10.0, 0.001),
        },
        Case {
            category: "health",
            role: Role::ModelOps,
            channel_kind: "webhook",
            kind: "deployment_failing",
            params: json!({"window_minutes": 5, "min_errors": 3}),
            trigger: usage(3, "openai/a", true, 100.0, 0.0),
            clear: usage(1, "openai/a", false, 100.0, 0.0),
        },
        Case {
            category: "health",
            role: Role::InfraAdmin,
            channel_kind: "webhook",
            kind: "rollout_rolled_back",
            params: json!({"window_ms": 1500}),
            trigger: Act::RolledBack,
            clear: Act::Nothing,
        },
        Case {
            category: "cost",
            role: Role::ResourceManager,
            channel_kind: "webhook",
            kind: "budget_percent",
            params: json!({"percent": 50}),
            trigger: usage(1, "openai/a", false, 100.0, 0.6),
            clear: Act::Budget(10.0),
        },
        Case {
            category: "cost",
            role: Role::ResourceManager,
            channel_kind: "webhook",
            kind: "spend_anomaly",
            params: json!({"window_minutes": 5, "baseline_hours": 1, "factor": 3}),
            trigger: usage(1, "openai/a", false, 100.0, 0.5),
            clear: usage_at(4, hour_ago, "openai/a", false, 100.0, 25.0),
        },
        Case {
            category: "security",
            role: Role::SecurityEngineer,
            channel_kind: "slack",
            kind: "auth_failures",
            params: json!({"window_ms": 1500, "count": 3}),
            trigger: Act::AuthFailures(3),
            clear: Act::Nothing,
        },
        Case {
            category: "security",
            role: Role::SecurityEngineer,
            channel_kind: "slack",
            kind: "policy_violations",
            params: json!({"window_ms": 1500, "count": 3}),
            trigger: refused(3),
            clear: Act::Nothing,
        },
    ]
}

/// `n` calls a guardrail refused, as an SDK reports them: each a security event.
fn refused(n: usize) -> Act {
    Act::Usage(
        (0..n)
            .map(|_| {
                let mut e = event(now_ms(), "chat", "-", 0.0, 1.0);
                e["status"] = json!({"error": {"code": "policy_violation"}});
                e["rule"] = json!("topic:legal-advice");
                e
            })
            .collect(),
    )
}

async fn act(app: &TestApp, key: &str, budget: &str, a: &Act) {
    match a {
        Act::Usage(events) => {
            let (s, b) = post(app, key, events, false).await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        Act::AuthFailures(n) => {
            for _ in 0..*n {
                app.store
                    .record_security_event(
                        Some(&app.tenant_a),
                        "auth.failed.user_token",
                        "sys_…abcd",
                        "127.0.0.1",
                    )
                    .await
                    .unwrap();
            }
        }
        Act::RolledBack => {
            // The row the rollouts half writes (docs/rollouts.md): kind, subject = rollout id.
            let detail = json!({"rollout": "rol_1", "model": "chat", "reason": "error_rate",
                                "evidence": {"candidate": 0.3, "baseline": 0.01}});
            sqlx::query(
                "INSERT INTO server_events (id, tenant_id, kind, subject_id, period_start, detail, created_at) \
                 VALUES ($1, $2, 'rollout.rolled_back', 'rol_1', 0, $3, $4)",
            )
            .bind("evt_test_rollback")
            .bind(&app.tenant_a)
            .bind(detail.to_string())
            .bind(now_ms())
            .execute(&app.store.db.pool)
            .await
            .unwrap();
        }
        Act::Budget(amount) => {
            let (s, b) = app
                .call(
                    "PATCH",
                    &format!("/api/v1/budgets/{budget}"),
                    Some(&app.admin_a),
                    Some(json!({"amount_usd": amount})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        Act::Nothing => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rule_fires_and_resolves_once_with_one_notification_each() {
    let mut latencies = Vec::new();
    for backend in ["sqlite", "postgres"] {
        for case in cases() {
            // Each case on its own database: no rule sees another case's usage.
            let url = match backend {
                "sqlite" => Some(common::sqlite_url()),
                _ => common::postgres_url().await,
            };
            let Some(url) = url else { break };
            let app = TestApp::new(&url).await;
            let rx = receiver(0).await;
            let smtp = common::smtp::sink().await;
            let (_, key) =
                common::app_with_key(&app.store, &app.tenant_a, &app.root_a, "svc").await;
            let (s, budget) = app
                .call(
                    "POST",
                    "/api/v1/budgets",
                    Some(&app.admin_a),
                    Some(json!({"name": "all", "scope": "tenant", "period": "month",
                                "amount_usd": 1.0, "mode": "soft"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{budget}");
            let budget = budget["id"].as_str().unwrap().to_owned();
            let token = Some(app.tokens[&case.role].as_str());
            let (s, channel) = app
                .call(
                    "POST",
                    "/api/v1/alert-channels",
                    token,
                    Some(json!({"name": "ops", "kind": case.channel_kind,
                                "url": format!("{}/{}", rx.url, case.kind), "secret": SECRET})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{channel}");
            assert_eq!(channel["secret_hint"], "…6789", "{channel}");
            assert!(!channel.to_string().contains(SECRET));
            let (s, mailbox) = app
                .call(
                    "POST",
                    "/api/v1/alert-channels",
                    token,
                    Some(json!({"name": "mail", "kind": "email",
                                "url": format!("smtp://alerts%40acme@127.0.0.1:{}", smtp.port),
                                "secret": "smtp-password", "from": "alerts@acme.test",
                                "to": ["oncall@acme.test", "lead@acme.test"]})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{mailbox}");
            let (s, rule) = app
                .call(
                    "POST",
                    &format!("/api/v1/alerts/{}/rules", case.category),
                    token,
                    Some(
                        json!({"name": case.kind, "kind": case.kind, "params": case.params,
                                "channel_ids": [channel["id"], mailbox["id"]], "renotify_ms": 3_600_000}),
                    ),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{backend} {}: {rule}", case.kind);
            let engine = spawn(app.state.clone(), settings());
            // Nothing holds yet: a few evaluations pass silently.
            tokio::time::sleep(Duration::from_millis(350)).await;
            assert!(rx.got.lock().unwrap().is_empty(), "{}", case.kind);

            let start = Instant::now();
            act(&app, &key, &budget, &case.trigger).await;
            let got = rx.wait_for(1).await;
            assert_eq!(
                got.len(),
                1,
                "{backend} {}: no firing notification",
                case.kind
            );
            let mails = wait_for_mail(&smtp, 1).await;
            assert_eq!(mails.len(), 1, "{backend} {}: no firing mail", case.kind);
            latencies.push((case.kind, got[0].at - start, mails[0].1 - start));
            act(&app, &key, &budget, &case.clear).await;
            let got = rx.wait_for(2).await;
            assert_eq!(
                got.len(),
                2,
                "{backend} {}: no resolved notification",
                case.kind
            );
            let mails = wait_for_mail(&smtp, 2).await;
            assert_eq!(mails.len(), 2, "{backend} {}: no resolved mail", case.kind);
            // Long enough for a storm to show: none comes.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let got = rx.got.lock().unwrap().clone();
            assert_eq!(
                got.len(),
                2,
                "{backend} {}: {} notifications",
                case.kind,
                got.len()
            );
            let mails = smtp.mails.lock().unwrap().clone();
            assert_eq!(
                mails.len(),
                2,
                "{backend} {}: {} mails",
                case.kind,
                mails.len()
            );
            for ((mail, _), status) in mails.iter().zip(["FIRING", "RESOLVED"]) {
                assert_eq!(mail.auth.as_deref(), Some("alerts@acme:smtp-password"));
                assert_eq!(mail.from, "alerts@acme.test");
                assert_eq!(mail.to, ["oncall@acme.test", "lead@acme.test"]);
                let subject = format!("Subject: [{status}] {} ({})", case.kind, case.kind);
                assert!(mail.data.contains(&subject), "{}", mail.data);
            }
            for (r, status) in got.iter().zip(["FIRING", "RESOLVED"]) {
                assert_eq!(r.path, format!("/{}", case.kind));
                assert_signed(r);
                let body = r.body();
                if case.channel_kind == "slack" {
                    let text = body["text"].as_str().unwrap();
                    assert!(
                        text.starts_with(&format!("[{status}] {}", case.kind)),
                        "{text}"
                    );
                } else {
                    assert_eq!(body["status"], status.to_lowercase(), "{body}");
                    assert_eq!(body["kind"], case.kind);
                    assert_eq!(body["rule_id"], rule["id"]);
                    assert_eq!(body["alerts"].as_array().unwrap().len(), 1, "{body}");
                }
            }
            let (s, states) = app
                .call("GET", "/api/v1/alerts", Some(&app.admin_a), None)
                .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(states[0]["state"], "resolved", "{states}");
            let (_, log) = app
                .call("GET", "/api/v1/alerts/deliveries", Some(&app.admin_a), None)
                .await;
            let log = log["items"].as_array().unwrap();
            assert_eq!(log.len(), 4, "{log:?}");
            assert!(log.iter().all(|d| d["ok"] == true && d["attempt"] == 1));
            engine.abort();
            rx.task.abort();
            smtp.task.abort();
        }
    }
    for (kind, webhook, mail) in &latencies {
        eprintln!(
            "condition to notification, {kind}: webhook {:.0} ms, email {:.0} ms (evaluation every 100 ms)",
            webhook.as_secs_f64() * 1000.0,
            mail.as_secs_f64() * 1000.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_retried_with_backoff_and_every_attempt_logged() {
    for (backend, url) in common::databases().await {
        let app = TestApp::new(&url).await;
        let flaky = receiver(2).await;
        let token = Some(app.tokens[&Role::SecurityEngineer].as_str());
        let mut rules = Vec::new();
        for (name, url) in [
            ("flaky", flaky.url.clone()),
            ("dead", "http://127.0.0.1:1/".into()),
        ] {
            let (s, channel) = app
                .call(
                    "POST",
                    "/api/v1/alert-channels",
                    token,
                    Some(json!({"name": name, "kind": "webhook", "url": url, "secret": SECRET})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{channel}");
            let (s, rule) = app
                .call(
                    "POST",
                    "/api/v1/alerts/security/rules",
                    token,
                    Some(
                        json!({"name": name, "kind": "auth_failures", "channel_ids": [channel["id"]],
                                "params": {"window_ms": 60000, "count": 1}}),
                    ),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{rule}");
            rules.push(rule["id"].as_str().unwrap().to_owned());
        }
        let engine = spawn(app.state.clone(), settings());
        act(&app, "", "", &Act::AuthFailures(1)).await;
        let got = flaky.wait_for(3).await;
        assert_eq!(got.len(), 3, "{backend}");
        // Backoff: 50 ms, then 100 ms.
        assert!(got[1].at - got[0].at >= Duration::from_millis(50));
        assert!(got[2].at - got[1].at >= Duration::from_millis(100));
        assert_eq!(
            got[0].raw, got[2].raw,
            "a retry sends the same notification"
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        let (_, log) = app
            .call("GET", "/api/v1/alerts/deliveries", Some(&app.admin_a), None)
            .await;
        let log = log["items"].as_array().unwrap();
        let of = |rule: &str| -> Vec<(i64, bool, Value)> {
            log.iter()
                .filter(|d| d["rule_id"] == rule)
                .map(|d| {
                    (
                        d["attempt"].as_i64().unwrap(),
                        d["ok"] == true,
                        d["http_status"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(
            of(&rules[0]),
            vec![
                (1, false, json!(500)),
                (2, false, json!(500)),
                (3, true, json!(200))
            ],
            "{backend}"
        );
        let dead = of(&rules[1]);
        assert_eq!(dead.len(), 3, "{backend}: {log:?}");
        assert!(dead.iter().all(|(_, ok, status)| !ok && status.is_null()));
        assert!(
            log.iter()
                .filter(|d| d["rule_id"] == rules[1])
                .all(|d| d["error"].is_string())
        );
        engine.abort();
        flaky.task.abort();
    }
}

#[tokio::test]
async fn rules_belong_to_their_category_and_its_role() {
    for app in common::app::apps().await {
        let rx = receiver(0).await;
        let admin = Some(app.admin_a.as_str());
        let (_, channel) = app
            .call(
                "POST",
                "/api/v1/alert-channels",
                admin,
                Some(json!({"name": "c", "kind": "webhook", "url": rx.url})),
            )
            .await;
        let body = |kind: &str, params: Value| json!({"name": kind, "kind": kind, "params": params, "channel_ids": [channel["id"]]});
        let auth = body("auth_failures", json!({"window_ms": 60000, "count": 5}));
        // model_ops may not write security rules; a security kind is not a health rule.
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/alerts/security/rules",
                Some(&app.tokens[&Role::ModelOps]),
                Some(auth.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let health = |b: Value| app.call("POST", "/api/v1/alerts/health/rules", admin, Some(b));
        let (s, b) = health(auth).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let (s, b) = health(body(
            "error_rate",
            json!({"window_minutes": 5, "threshold": 2}),
        ))
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(b.to_string().contains("threshold"), "{b}");
        let (s, b) = health(body("error_rate", json!({"window_minutes": 5}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        // A health rule is not deleted through the cost routes.
        let (s, rule) = health(body(
            "error_rate",
            json!({"window_minutes": 5, "threshold": 0.2}),
        ))
        .await;
        assert_eq!(s, StatusCode::CREATED, "{rule}");
        let id = rule["id"].as_str().unwrap();
        let (s, _) = app
            .call(
                "DELETE",
                &format!("/api/v1/alerts/cost/rules/{id}"),
                admin,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = app
            .call(
                "DELETE",
                &format!("/api/v1/alerts/health/rules/{id}"),
                admin,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (_, audit) = app.call("GET", "/api/v1/audit", admin, None).await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for a in [
            "alert_channel.create",
            "alert_rule.create",
            "alert_rule.delete",
        ] {
            assert!(actions.contains(&a), "{a} not audited: {actions:?}");
        }
        rx.task.abort();
    }
}

/// A webhook channel "ops" to `url`, made as `token`'s user.
async fn webhook_channel(app: &TestApp, token: Option<&str>, url: &str) -> Value {
    let (s, channel) = app
        .call(
            "POST",
            "/api/v1/alert-channels",
            token,
            Some(json!({"name": "ops", "kind": "webhook", "url": url})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{channel}");
    channel
}

/// Chat on two deployments, version-labelled for a rollout that gives `v2` 10%.
fn two_deployments() -> Value {
    json!({
        "version": 1,
        "providers": {
            "openai": {"kind": "openai", "api_key": "${OPENAI_API_KEY}"},
            "anthropic": {"kind": "anthropic"}
        },
        "models": {
            "chat": {
                "deployments": [
                    {"provider": "openai", "model": "gpt-4o-mini", "version": "v2"},
                    {"provider": "anthropic", "model": "claude-3-5-haiku", "version": "v1"}
                ],
                "rollout": {"split": {"v1": 90.0, "v2": 10.0}}
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_action_disables_a_failing_deployment_and_sdks_stop_calling_it_within_one_long_poll()
 {
    for app in common::app::apps().await {
        app.activate(&app.admin_a, two_deployments()).await;
        let key = app.app_key("svc", None).await;
        let (before, etag) = app.sdk_config(&key).await;
        assert_eq!(
            before["models"]["chat"]["deployments"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let rx = receiver(0).await;
        let ops = Some(app.tokens[&Role::ModelOps].as_str());
        let channel = webhook_channel(&app, ops, &rx.url).await;
        let (s, rule) = app
            .call(
                "POST",
                "/api/v1/alerts/health/rules",
                ops,
                Some(json!({"name": "failing", "kind": "deployment_failing",
                            "params": {"window_minutes": 5, "min_errors": 3},
                            "channel_ids": [channel["id"]],
                            "action": {"type": "disable_deployment"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{rule}");
        let poll = app.long_poll(&key, &etag);
        let engine = spawn(app.state.clone(), settings());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!poll.is_finished(), "the long-poll waits for a change");

        let start = Instant::now();
        let Act::Usage(events) = usage(3, "openai/gpt-4o-mini", true, 100.0, 0.0) else {
            unreachable!()
        };
        let (s, b) = post(&app, &key, &events, false).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let answered = tokio::time::timeout(Duration::from_secs(10), poll).await;
        let notes: Vec<Value> = rx.got.lock().unwrap().iter().map(Received::body).collect();
        let (status, new_etag, after) = answered
            .unwrap_or_else(|_| panic!("no new config in the long-poll; notifications: {notes:?}"))
            .unwrap();
        let took = start.elapsed();
        assert_eq!(status, StatusCode::OK);
        assert_ne!(new_etag, etag);
        let deployments = after["models"]["chat"]["deployments"].as_array().unwrap();
        assert_eq!(deployments.len(), 1, "{after}");
        assert_eq!(deployments[0]["provider"], "anthropic");
        eprintln!(
            "failing deployment to SDK long-poll answer without it: {:.0} ms",
            took.as_secs_f64() * 1000.0
        );
        let got = rx.wait_for(1).await;
        let body = got[0].body();
        assert_eq!(
            body["alerts"][0]["action"], "disabled deployment openai/gpt-4o-mini",
            "{body}"
        );
        // Audited under the rule's name, the version labelled with why.
        let (_, audit) = app
            .call("GET", "/api/v1/audit", Some(&app.admin_a), None)
            .await;
        let by_alert: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actor"] == "alert failing")
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert!(by_alert.contains(&"config.activate"), "{audit}");
        let (_, versions) = app
            .call("GET", "/api/v1/configs", Some(&app.admin_a), None)
            .await;
        assert!(
            versions
                .to_string()
                .contains("alert failing: disable openai/gpt-4o-mini"),
            "{versions}"
        );
        // Re-evaluations while it keeps firing change nothing more.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (again, _) = app.sdk_config(&key).await;
        assert_eq!(again, after);
        engine.abort();
        rx.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_alert_drains_the_canary_and_a_spend_alert_tightens_a_limit() {
    for app in common::app::apps().await {
        app.activate(&app.admin_a, two_deployments()).await;
        let key = app.app_key("svc", None).await;
        let rx = receiver(0).await;
        let admin = Some(app.admin_a.as_str());
        let channel = webhook_channel(&app, admin, &rx.url).await;
        let (s, limit) = app
            .call(
                "POST",
                "/api/v1/rate-limits",
                admin,
                Some(json!({"name": "tenant", "scope": "tenant", "rpm": 1000, "tpm": 100000})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{limit}");
        for (path, body) in [
            (
                "health",
                json!({"name": "rolled-back", "kind": "rollout_rolled_back",
                       "params": {"window_ms": 60000}, "channel_ids": [channel["id"]],
                       "action": {"type": "drain_canary", "model": "chat", "baseline": "v1"}}),
            ),
            (
                "cost",
                json!({"name": "spend", "kind": "spend_anomaly",
                       "params": {"window_minutes": 5, "baseline_hours": 1, "factor": 3},
                       "channel_ids": [channel["id"]],
                       "action": {"type": "tighten_limit", "limit_id": limit["id"], "factor": 0.5}}),
            ),
        ] {
            let (s, rule) = app
                .call(
                    "POST",
                    &format!("/api/v1/alerts/{path}/rules"),
                    Some(
                        &app.tokens[&if path == "health" {
                            Role::ModelOps
                        } else {
                            Role::ResourceManager
                        }],
                    ),
                    Some(body),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{rule}");
        }
        // A cost action does not fit a health rule.
        let (s, _) = app
            .call(
                "POST",
                "/api/v1/alerts/health/rules",
                admin,
                Some(json!({"name": "x", "kind": "error_rate",
                            "params": {"window_minutes": 5, "threshold": 0.5},
                            "channel_ids": [channel["id"]],
                            "action": {"type": "tighten_limit", "limit_id": limit["id"], "factor": 0.5}})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let engine = spawn(app.state.clone(), settings());
        act(&app, &key, "", &Act::RolledBack).await;
        act(
            &app,
            &key,
            "",
            &usage(1, "openai/gpt-4o-mini", false, 10.0, 0.5),
        )
        .await;
        let got = rx.wait_for(2).await;
        assert_eq!(got.len(), 2);
        let (config, _) = app.sdk_config(&key).await;
        assert_eq!(
            config["models"]["chat"]["rollout"]["split"],
            json!({"v1": 100.0}),
            "{config}"
        );
        let (_, limit) = app
            .call(
                "GET",
                &format!("/api/v1/rate-limits/{}", limit["id"].as_str().unwrap()),
                admin,
                None,
            )
            .await;
        assert_eq!((&limit["rpm"], &limit["tpm"]), (&json!(500), &json!(50000)));
        engine.abort();
        rx.task.abort();
    }
}
