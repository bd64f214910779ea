//! Leased budgets and rate limits against an in-test lease server that speaks the
//! protocol: the first grant, renewal in proportion to spend, early renewal, a gone lease,
//! the return on close, expiry under each server-down policy, and the guarantee across
//! instances.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/lease_server.rs"]
mod lease_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lease_server::{Budget, LeaseServer, Limit, Policy};
use switchyard::config::Config;
use switchyard::lease::LeaseSettings;
use switchyard::sdk_protocol::ServerDownPolicy;
use switchyard::telemetry::MemorySink;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

/// $1000 per 1M tokens: a call of 1 prompt and 10 completion tokens costs $0.011, and its
/// worst-case estimate (prompt bound + 10 output tokens) a little more.
const COST: f64 = 0.011;

async fn mock(latency_ms: u64) -> MockServer {
    MockServer::start_with(
        Script::from_yaml(&format!(
            "defaults: {{ latency_ms: {latency_ms} }}\n\
             models: {{ '*': [ {{ usage: {{ prompt_tokens: 1, completion_tokens: 10 }} }} ] }}"
        ))
        .unwrap(),
    )
    .await
    .unwrap()
}

/// One priced model `chat`; with `local_model` (a path), also an in-process model `tiny`.
fn config(mock: &MockServer, server: &LeaseServer, local_model: &str) -> Config {
    let (provider, model) = if local_model.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!(", llama: {{ kind: local, model_path: \"{local_model}\", threads: 1 }}"),
            ", tiny: { deployments: [ { provider: llama, model: smollm2-135m-instruct } ] }"
                .to_owned(),
        )
    };
    Config::from_yaml(&format!(
        "version: 1\nidentity: {{ tenant: t, app: a }}\n\
         providers: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }}{provider} }}\n\
         models: {{ chat: {{ deployments: [ {{ provider: oa, model: m, price: {{ input: 1000, output: 1000 }} }} ] }}{model} }}\n\
         usage: {{ server: \"{}\", api_key: sy_test_lease_key }}\n",
        mock.url(),
        server.url()
    ))
    .unwrap()
}

fn client(config: Config) -> (Client, Arc<MemorySink>) {
    client_with(config, LeaseSettings::default())
}

fn client_with(config: Config, settings: LeaseSettings) -> (Client, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::default());
    let client = Client::builder()
        .config(config)
        .usage_sink(sink.clone())
        .lease_settings(settings)
        .build()
        .unwrap();
    (client, sink)
}

fn ask() -> ChatRequest {
    let mut request = ChatRequest::new("chat", vec![Message::user("hi")]);
    request.max_tokens = Some(10);
    request
}

async fn call(client: &Client) -> Result<f64, switchyard::Error> {
    client
        .chat(ask(), &CallOptions::default())
        .await
        .map(|outcome| outcome.meta.cost_usd)
}

fn policy(budgets: Vec<Budget>) -> Policy {
    Policy {
        budgets,
        limits: Vec::new(),
        ttl_ms: 5_000,
        refresh_ms: 150,
        default_slice_usd: 0.2,
    }
}

fn spent(sink: &MemorySink) -> f64 {
    sink.events().iter().map(|e| e.cost_usd).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renewals_report_what_was_used_and_want_in_proportion_to_spend() {
    let mock = mock(0).await;
    let server = LeaseServer::start(policy(vec![Budget::hard("b", 100.0)]));
    let (busy, busy_sink) = client(config(&mock, &server, ""));
    let (idle, idle_sink) = client(config(&mock, &server, ""));
    let started = Instant::now();
    let mut next_idle = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        call(&busy).await.unwrap();
        if Instant::now() >= next_idle {
            call(&idle).await.unwrap();
            next_idle += Duration::from_millis(300);
        }
    }
    busy.shutdown().await;
    idle.shutdown().await;
    let received = server.received();
    let granted: Vec<_> = received.iter().filter(|r| r.status == 200).collect();
    let lease_of = |sink: &MemorySink| {
        sink.events()[0]
            .lease
            .clone()
            .expect("events carry the lease")
    };
    let (busy_lease, idle_lease) = (lease_of(&busy_sink), lease_of(&idle_sink));
    assert_ne!(
        busy_lease, idle_lease,
        "each client is an instance of its own"
    );
    let renewals = |lease: &str| -> Vec<_> {
        granted
            .iter()
            .filter(|r| r.request.lease.as_deref() == Some(lease))
            .collect()
    };
    let busy_renewals = renewals(&busy_lease);
    assert!(
        busy_renewals.len() >= 5,
        "renewed every 150 ms: {} renewals in 1.5 s",
        busy_renewals.len()
    );
    // The return reports everything spent, exactly.
    let returns = server.returns();
    let returned = |lease: &str| {
        returns
            .iter()
            .find(|(id, _)| id == lease)
            .map(|(_, r)| r.used.iter().map(|u| u.amount).sum::<f64>())
            .expect("the lease was returned on shutdown")
    };
    assert!((returned(&busy_lease) - spent(&busy_sink)).abs() < 1e-9);
    assert!((returned(&idle_lease) - spent(&idle_sink)).abs() < 1e-9);
    // Each want is the spend rate since the last request x 150 ms x 2 (timed on the
    // server's side of the wire, so within a factor of two).
    let mut checked = 0;
    for pair in busy_renewals.windows(2) {
        let used =
            |r: &lease_server::Received| r.request.used.iter().map(|u| u.amount).sum::<f64>();
        let rate = (used(pair[1]) - used(pair[0])) / (pair[1].at - pair[0].at).as_secs_f64();
        let Some(want) = pair[1].request.want.iter().find(|w| w.id == "b") else {
            continue;
        };
        let expected = rate * 0.150 * 2.0;
        assert!(
            want.amount > expected / 2.0 && want.amount < expected * 2.0,
            "want {} for a rate of {rate}/s (expected ~{expected})",
            want.amount
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} wants to check");
    let max_want = |lease: &str| {
        renewals(lease)
            .iter()
            .flat_map(|r| r.request.want.iter().map(|w| w.amount))
            .fold(0.0, f64::max)
    };
    assert!(
        max_want(&busy_lease) > 3.0 * max_want(&idle_lease),
        "the busy instance asks for more: {} vs {}",
        max_want(&busy_lease),
        max_want(&idle_lease)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_grant_grows_during_calls_in_flight_and_the_return_counts_each_once() {
    // A slice of 4 calls' worth, renewed only every 10 s unless a slice runs low.
    let mock = mock(300).await;
    let mut p = policy(vec![Budget::hard("b", 100.0)]);
    p.refresh_ms = 10_000;
    p.default_slice_usd = 0.05;
    let server = LeaseServer::start(p);
    let (client, sink) = client(config(&mock, &server, ""));
    call(&client).await.unwrap();
    // Four calls in flight fill the slice past 80%: the renewer is woken before its
    // interval, and the grant grows while they are still running.
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { call(&client).await })
        })
        .collect();
    assert!(
        server
            .wait_for(Duration::from_millis(250), |s| s.received().len() >= 2)
            .await,
        "a nearly spent slice renews early"
    );
    let grown = server.received()[1].grant.clone().unwrap();
    assert!(grown.budgets[0].granted_usd > 0.05, "{grown:?}");
    for call in in_flight {
        call.await.unwrap().unwrap();
    }
    // More calls than the first slice held pass under the grown grant.
    for _ in 0..4 {
        call(&client).await.unwrap();
    }
    client.shutdown().await;
    let events = sink.events();
    assert_eq!(events.len(), 8);
    let returns = server.returns();
    assert_eq!(returns.len(), 1);
    let used: f64 = returns[0].1.used.iter().map(|u| u.amount).sum();
    assert!((used - 8.0 * COST).abs() < 1e-9, "returned {used}");
    assert!((spent(&sink) - 8.0 * COST).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gone_lease_is_replaced_by_a_new_one() {
    let mock = mock(0).await;
    let server = LeaseServer::start(policy(vec![Budget::hard("b", 100.0)]));
    // The first renewal finds the lease gone.
    server.script([410]);
    let (client, sink) = client(config(&mock, &server, ""));
    // The script answers the first request; the next one asks afresh.
    assert!(
        server
            .wait_for(Duration::from_secs(3), |s| s
                .received()
                .iter()
                .any(|r| r.grant.as_ref().is_some_and(|g| g.lease == "lease-1")))
            .await
    );
    let received = server.received();
    assert_eq!(received[0].status, 410);
    assert!(
        received[1].request.lease.is_none(),
        "a new lease is asked for"
    );
    call(&client).await.unwrap();
    // Gone again mid-life: 410 to a renewal, then a second lease.
    server.script([410]);
    assert!(
        server
            .wait_for(Duration::from_secs(3), |s| s
                .received()
                .iter()
                .any(|r| r.grant.as_ref().is_some_and(|g| g.lease == "lease-2")))
            .await
    );
    call(&client).await.unwrap();
    let leases: Vec<_> = sink.events().into_iter().map(|e| e.lease).collect();
    assert_eq!(
        leases,
        vec![Some("lease-1".to_owned()), Some("lease-2".to_owned())]
    );
    client.shutdown().await;
}

/// A client whose lease of one hard budget with `on_server_down` expires 400 ms after the
/// server goes away.
async fn expired(
    on_server_down: ServerDownPolicy,
    extra: &str,
) -> (MockServer, LeaseServer, Client, Arc<MemorySink>) {
    let mock = mock(0).await;
    let mut p = policy(vec![Budget {
        on_server_down,
        ..Budget::hard("b", 100.0)
    }]);
    p.ttl_ms = 400;
    p.refresh_ms = 100;
    let mut server = LeaseServer::start(p);
    let (client, sink) = client(config(&mock, &server, extra));
    call(&client).await.unwrap();
    server.stop();
    let stopped = Instant::now();
    // Within the grant's life the instance keeps spending it.
    call(&client).await.unwrap();
    assert!(stopped.elapsed() < Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(600)).await;
    (mock, server, client, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_expiry_deny_refuses_with_budget_unavailable_until_the_server_is_back() {
    let (_mock, mut server, client, sink) = expired(ServerDownPolicy::Deny, "").await;
    let error = call(&client).await.unwrap_err();
    assert_eq!(error.code(), "budget_unavailable", "{error}");
    assert!(error.is_retryable());
    server.up();
    // The renewer is backing off (1 s, then 2 s): a new lease within a few seconds.
    let back = Instant::now();
    loop {
        match call(&client).await {
            Ok(_) => break,
            Err(e) if back.elapsed() < Duration::from_secs(8) => {
                assert_eq!(e.code(), "budget_unavailable");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the server is back but calls still fail: {e}"),
        }
    }
    assert_eq!(sink.events().iter().filter(|e| e.cost_usd > 0.0).count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_expiry_allow_lets_calls_through_and_records_them_under_the_lease() {
    let (_mock, _server, client, sink) = expired(ServerDownPolicy::Allow, "").await;
    for _ in 0..3 {
        call(&client).await.unwrap();
    }
    let events = sink.events();
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.lease.as_deref() == Some("lease-1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_expiry_local_without_a_local_model_denies() {
    let (_mock, _server, client, _sink) = expired(ServerDownPolicy::Local, "").await;
    let error = call(&client).await.unwrap_err();
    assert_eq!(error.code(), "budget_unavailable", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_expiry_local_sends_calls_to_the_local_model() {
    let model = std::env::var("SWITCHYARD_LOCAL_MODEL").unwrap_or_else(|_| {
        format!(
            "{}/../models/SmolLM2-135M-Instruct.Q4_1.gguf",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    assert!(
        std::path::Path::new(&model).exists(),
        "the local model {model} is missing: run `make model` or set SWITCHYARD_LOCAL_MODEL"
    );
    let (_mock, _server, client, sink) = expired(ServerDownPolicy::Local, &model).await;
    let mut request = ask();
    request.temperature = Some(0.0);
    let answer = client.chat(request, &CallOptions::default()).await.unwrap();
    assert!(answer.meta.local, "{:?}", answer.meta);
    assert_eq!(answer.meta.cost_usd, 0.0);
    let last = sink.events().pop().unwrap();
    assert_eq!(last.fallback.as_deref(), Some("tiny"));
    assert!(last.local);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn before_the_first_grant_calls_wait_briefly_then_follow_the_settings() {
    let mock = mock(0).await;
    let mut server = LeaseServer::start(policy(vec![Budget::hard("b", 100.0)]));
    server.stop();
    let settings = |policy| LeaseSettings {
        first_grant_wait: Duration::from_millis(300),
        before_first_grant: policy,
    };
    let (allow, sink) = client_with(
        config(&mock, &server, ""),
        settings(ServerDownPolicy::Allow),
    );
    let started = Instant::now();
    call(&allow).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    // Only the first calls wait.
    let started = Instant::now();
    call(&allow).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(200));
    assert!(sink.events().iter().all(|e| e.lease.is_none()));
    let (deny, _) = client_with(config(&mock, &server, ""), settings(ServerDownPolicy::Deny));
    let error = call(&deny).await.unwrap_err();
    assert_eq!(error.code(), "budget_unavailable", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_instances_of_64_callers_never_overspend_a_hard_budget() {
    let mock = mock(0).await;
    let limit = 1.0;
    let mut p = policy(vec![Budget::hard("b", limit)]);
    p.refresh_ms = 100;
    p.default_slice_usd = 0.05;
    let server = LeaseServer::start(p);
    let clients: Vec<_> = (0..8).map(|_| client(config(&mock, &server, ""))).collect();
    let mut tasks = Vec::new();
    for (c, _) in &clients {
        for _ in 0..64 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                let mut refused = 0;
                for _ in 0..10 {
                    match call(&c).await {
                        Ok(_) => {}
                        Err(e) => {
                            assert_eq!(e.code(), "budget_exceeded", "{e}");
                            refused += 1;
                        }
                    }
                }
                refused
            }));
        }
    }
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    let total: f64 = clients.iter().map(|(_, sink)| spent(sink)).sum();
    let largest = clients
        .iter()
        .flat_map(|(_, sink)| sink.events())
        .map(|e| e.cost_usd)
        .fold(0.0, f64::max);
    eprintln!(
        "8 x 64 callers, hard budget ${limit}: spent ${total:.4}, largest call ${largest:.4}, \
         bound ${:.4}, {refused} refused",
        limit + 8.0 * largest
    );
    assert!(total <= limit + 8.0 * largest, "spent {total}");
    assert!(refused > 0, "the budget should run out");
    // The slices add up to the budget: most of it gets spent.
    assert!(total > limit * 0.5, "only {total} of {limit} spent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_shares_add_up_to_at_most_the_limit() {
    let mock = mock(0).await;
    let mut p = policy(Vec::new());
    p.limits = vec![Limit {
        id: "rpm".into(),
        rpm: 40,
        instances: 4,
        on_server_down: ServerDownPolicy::Deny,
    }];
    let server = LeaseServer::start(p);
    let clients: Vec<_> = (0..4).map(|_| client(config(&mock, &server, ""))).collect();
    let mut tasks = Vec::new();
    for (c, _) in &clients {
        for _ in 0..16 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                let mut ok = 0;
                for _ in 0..5 {
                    match call(&c).await {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            assert_eq!(e.code(), "rate_limited", "{e}");
                            let after = e.retry_after().unwrap();
                            assert!(after <= Duration::from_secs(60), "{after:?}");
                        }
                    }
                }
                ok
            }));
        }
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    for (_, sink) in &clients {
        let admitted = sink.events().iter().filter(|e| e.cost_usd > 0.0).count();
        assert_eq!(admitted, 10, "each instance's share is 40 / 4");
    }
    assert_eq!(ok, 40, "no minute holds more than the limit");
}
