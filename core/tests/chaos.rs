//! The chaos suite, bounded for `make test`: seeded fault mixes (every fault the mock has,
//! latency spikes and hangs) on the primary at 10%, 30% and 50%, with and without a
//! fallback, plain and streaming, one caller and many. The long version is
//! `bench/chaos.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/chaos.rs"]
mod chaos;

use std::time::{Duration, Instant};

use chaos::{MAX_ATTEMPTS, Mix, Report};
use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

/// What every run must show, whatever the mix.
fn check(report: &Report) {
    let mix = report.mix;
    let line = report.line();
    assert_eq!(report.stuck(), 0, "{line}: calls that never ended");
    let failures = report.failures();
    if mix.fallback || mix.percent == 0 {
        assert!(failures.is_empty(), "{line}: {:?}", failures.first());
    }
    for error in &failures {
        // Each is what the last fault says, or the breaker's `unavailable`: never a
        // caller's mistake, a panic or a cancellation.
        let right = match error.code() {
            "upstream" => matches!(error.status(), Some(500 | 503 | 200)),
            "rate_limited" | "network" | "timeout" | "unavailable" => true,
            _ => false,
        };
        assert!(right, "{line}: wrong error surfaced: {error}");
    }
    // No call waits out an attempt timeout unless a hang made it: calls slower than an
    // answered upstream allows are at most the hangs served, and none passes the policy.
    let slow = report
        .outcomes
        .iter()
        .filter(|o| o.latency > chaos::answered_bound())
        .count();
    assert!(
        slow <= report.hangs_served,
        "{line}: {slow} calls slower than {:?} with {} hangs served",
        chaos::answered_bound(),
        report.hangs_served
    );
    assert!(
        report.slowest() <= chaos::policy_bound(&mix),
        "{line}: a call took {:?}, past what the policy allows",
        report.slowest()
    );
    // Upstream calls: no route tried more than its attempts; nothing extra without faults.
    let calls = report.outcomes.len() as u64;
    assert!(
        report.primary_calls <= calls * u64::from(MAX_ATTEMPTS),
        "{line}"
    );
    assert!(
        report.backup_calls <= calls * u64::from(MAX_ATTEMPTS),
        "{line}"
    );
    if !mix.fallback {
        assert_eq!(report.backup_calls, 0, "{line}");
    }
    if mix.percent == 0 {
        assert_eq!(
            (report.primary_calls, report.backup_calls),
            (calls, 0),
            "{line}"
        );
    }
}

/// Every mix, for one call style and caller count; fault-free first, as the baseline.
/// The 30% mix runs twice: with hangs, and without them under a 30 s attempt timeout,
/// where any attempt stuck on a broken connection would show.
async fn suite(stream: bool, callers: usize, calls: usize) {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let mock = MockServer::start().await.unwrap();
    let mixes = [(0, true), (10, true), (30, true), (30, false), (50, true)];
    for (i, (percent, hangs)) in mixes.into_iter().enumerate() {
        for fallback in [true, false] {
            let mix = Mix {
                percent,
                seed: 16 + i as u64 * 2 + u64::from(fallback),
                fallback,
                stream,
                callers,
                calls,
                hangs,
            };
            let report = chaos::run(&mock, mix).await;
            tracing::info!("{}", report.line());
            check(&report);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_one_caller() {
    suite(false, 1, 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_many_callers() {
    suite(false, 8, 240).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_one_caller() {
    suite(true, 1, 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_many_callers() {
    suite(true, 8, 240).await;
}

/// A mock with `script` and a client whose provider `oa` is that mock, with `models`.
async fn scripted(script: &str, models: &str) -> (MockServer, Client) {
    let mock = MockServer::start_with(Script::from_yaml(script).unwrap())
        .await
        .unwrap();
    let config = Config::from_yaml(&format!(
        "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\nmodels:\n  {models}\n",
        mock.url()
    ))
    .unwrap();
    let client = Client::builder().config(config).build().unwrap();
    (mock, client)
}

/// The 30-second tail: five failures in a row open the primary's circuit (the old default
/// `consecutive_failures`, set here) on the first attempt of a call. That call must fall
/// back at once, not sleep out the 30-second open period because it fits under
/// `max_retry_after_ms`.
#[tokio::test]
async fn a_call_that_opens_the_circuit_falls_back_at_once() {
    let (mock, client) = scripted(
        "models: { primary: [ { status: 500, times: 5 }, {} ], backup: [ {} ] }",
        "chat: { deployments: [{ provider: oa, model: primary }], fallbacks: { default: [backup] }, \
         retry: { max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 40 }, \
         health: { consecutive_failures: 5 } }\n  \
         backup: { deployments: [{ provider: oa, model: backup }] }",
    )
    .await;
    let request = || ChatRequest::new("chat", vec![Message::user("hi")]);
    // Three failures, then the backup answers.
    let first = client
        .chat(request(), &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(first.meta.fallback.as_deref(), Some("backup"));
    // The fourth and fifth failures: the fifth opens the circuit mid-call.
    let started = Instant::now();
    let second = tokio::time::timeout(
        Duration::from_secs(5),
        client.chat(request(), &CallOptions::default()),
    )
    .await
    .expect("the call waited for the open circuit instead of falling back")
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(second.meta.fallback.as_deref(), Some("backup"));
    assert_eq!(mock.counters().models["primary"], 5);
}

/// Without a fallback, a call made while a 429's short cooldown runs waits it out (as the
/// call that got the 429 does) instead of failing with `unavailable` in microseconds: under
/// a 10% mix with 8 callers, every call in the 20 ms after a 429 used to fail.
#[tokio::test]
async fn without_a_fallback_a_new_call_waits_out_a_short_cooldown() {
    let (mock, client) = scripted(
        "models: { primary: [ { status: 429, retry_after_ms: 300 }, {} ] }",
        "chat: { deployments: [{ provider: oa, model: primary }], retry: { max_attempts: 1 } }",
    )
    .await;
    let request = || ChatRequest::new("chat", vec![Message::user("hi")]);
    let limited = client
        .chat(request(), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(limited.code(), "rate_limited");
    let started = Instant::now();
    let answer = client.chat(request(), &CallOptions::default()).await;
    assert!(answer.is_ok(), "{:?}", answer.err());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(mock.counters().models["primary"], 2);
}
