//! The shared tier against a real `redis-server` (docs/redis.md): the Redis cache tier
//! (TTL, size cap, claims), shared rate limits with the in-process semantics, Redis killed
//! or frozen mid-run, and several client processes (this test binary run again as
//! children) sharing one Redis in front of the mock provider.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis_server::RedisServer;
use serde_json::json;
use switchyard::cache::SharedCache;
use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

/// The response cache with its Redis tier on, and the two limits the tests share.
const SHARED_CACHE: &str = "{ mode: always, shared: {} }";
const NO_LIMITS: &str = "[]";
const WIDE_LIMIT: &str = "[{ name: wide, scope: model, rpm: 100000, shared: true }]";

/// A client config on the mock provider and Redis: `cache` and `limits` are YAML flow
/// values for `cache:` and `rate_limits:`.
fn config_text(mock: &MockServer, redis: &RedisServer, cache: &str, limits: &str) -> String {
    config_text_with(mock, &format!("url: \"{}\"", redis.url()), cache, limits)
}

/// [`config_text`] with the `redis` section's fields other than `timeout_ms` given.
fn config_text_with(mock: &MockServer, redis: &str, cache: &str, limits: &str) -> String {
    let mock = mock.url();
    format!(
        "version: 1\n\
         providers: {{ oa: {{ kind: openai, base_url: \"{mock}/v1\" }} }}\n\
         models: {{ chat: {{ deployments: [{{ provider: oa, model: m }}], retry: {{ max_attempts: 1 }} }} }}\n\
         redis: {{ {redis}, timeout_ms: 50 }}\n\
         cache: {cache}\n\
         rate_limits: {limits}\n"
    )
}

/// The mock provider answering every model with `step` (YAML flow map).
async fn mock(step: &str) -> MockServer {
    let script = format!("models: {{ '*': [ {step} ] }}");
    MockServer::start_with(Script::from_yaml(&script).unwrap())
        .await
        .unwrap()
}

fn client(text: &str) -> Client {
    Client::builder()
        .config(Config::from_yaml(text).unwrap())
        .build()
        .unwrap()
}

fn ask(prompt: &str) -> ChatRequest {
    ChatRequest::new("chat", vec![Message::user(prompt)])
}

#[tokio::test]
async fn the_redis_tier_keeps_ttls_caps_entries_and_claims_fetches() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let tier = server.cache_tier(50, 16, 1_000);
    tier.put("a", b"small".to_vec(), Duration::from_millis(300))
        .await;
    assert_eq!(tier.get("a").await.as_deref(), Some(&b"small"[..]));
    assert_eq!(tier.get("missing").await, None);
    // Past its TTL Redis has dropped it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(tier.get("a").await, None);
    // Above max_entry_bytes: not stored.
    tier.put("big", vec![7; 17], Duration::from_secs(60)).await;
    assert_eq!(tier.get("big").await, None);
    // One claim at a time; released, it can be taken again.
    assert!(tier.claim("k", Duration::from_secs(5)).await);
    assert!(!tier.claim("k", Duration::from_secs(5)).await);
    tier.release("k").await;
    assert!(tier.claim("k", Duration::from_secs(5)).await);
    assert_eq!(tier.claim_wait(), Duration::from_millis(1_000));
}

#[tokio::test]
async fn an_answer_cached_by_one_client_is_a_hit_in_another() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mock = mock("{}").await;
    let text = config_text(&mock, &server, SHARED_CACHE, NO_LIMITS);
    let one = client(&text);
    let two = client(&text);
    let first = one.chat(ask("q"), &CallOptions::default()).await.unwrap();
    assert!(!first.meta.cache_hit);
    let second = two.chat(ask("q"), &CallOptions::default()).await.unwrap();
    assert!(
        second.meta.cache_hit,
        "the other client's answer was not found"
    );
    assert_eq!(
        second.response.choices[0].message.content,
        first.response.choices[0].message.content
    );
    assert_eq!(mock.counters().total, 1);
    let tier = two.metrics().shared_tier.unwrap();
    assert_eq!((tier.cache_hits, tier.cache_fallbacks), (1, 0));
    assert_eq!(one.metrics().shared_tier.unwrap().cache_writes, 1);
}

#[tokio::test]
async fn a_tls_redis_shares_answers_when_its_ca_is_trusted() {
    let Some(server) = RedisServer::start_tls() else {
        return;
    };
    let tier = server.cache_tier(500, 1024, 1_000);
    tier.put("a", b"over tls".to_vec(), Duration::from_secs(60))
        .await;
    assert_eq!(tier.get("a").await.as_deref(), Some(&b"over tls"[..]));

    let mock = mock("{}").await;
    let redis = format!(
        "url: \"{}\", ca_file: \"{}\"",
        server.url(),
        server.ca_file()
    );
    let text = config_text_with(&mock, &redis, SHARED_CACHE, WIDE_LIMIT);
    let (one, two) = (client(&text), client(&text));
    one.chat(ask("q"), &CallOptions::default()).await.unwrap();
    let second = two.chat(ask("q"), &CallOptions::default()).await.unwrap();
    assert!(
        second.meta.cache_hit,
        "the answer did not cross the TLS Redis"
    );
    assert_eq!(mock.counters().total, 1);
    let tier = two.metrics().shared_tier.unwrap();
    assert_eq!((tier.cache_fallbacks, tier.limit_fallbacks), (0, 0));
}

#[tokio::test]
async fn a_tls_redis_whose_certificate_is_not_trusted_is_never_used() {
    let Some(server) = RedisServer::start_tls() else {
        return;
    };
    let mock = mock("{}").await;
    // No ca_file: the system's trust store does not know the test CA.
    let redis = format!("url: \"{}\"", server.url());
    let text = config_text_with(&mock, &redis, SHARED_CACHE, WIDE_LIMIT);
    let client = client(&text);
    let answer = client.chat(ask("q"), &CallOptions::default()).await;
    assert!(answer.is_ok(), "{answer:?}");
    let tier = client.metrics().shared_tier.unwrap();
    assert_eq!((tier.cache_writes, tier.cache_hits), (0, 0), "{tier:?}");
    assert!(
        tier.cache_fallbacks > 0 && tier.limit_fallbacks > 0,
        "{tier:?}"
    );

    // A CA file that is not a certificate is a config error, not a silent fallback.
    let junk = std::env::temp_dir().join(format!("switchyard-junk-ca-{}", std::process::id()));
    std::fs::write(&junk, "not a certificate").unwrap();
    let redis = format!("url: \"{}\", ca_file: \"{}\"", server.url(), junk.display());
    let built = Client::builder()
        .config(
            Config::from_yaml(&config_text_with(&mock, &redis, SHARED_CACHE, NO_LIMITS)).unwrap(),
        )
        .build();
    std::fs::remove_file(&junk).ok();
    let Err(error) = built else {
        panic!("a CA file with no certificate was accepted");
    };
    assert!(error.to_string().contains("redis.ca_file"), "{error}");
}

#[tokio::test]
async fn a_shared_limit_holds_across_clients_with_the_in_process_semantics() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mock = mock("{}").await;
    let limit = |shared: bool| {
        format!(
            "[{{ name: per-model, scope: model, rpm: 60, burst: 2, action: reject, shared: {shared} }}]"
        )
    };
    let build = |shared: bool| {
        let text = config_text(&mock, &server, "{ mode: off }", &limit(shared));
        client(&text)
    };
    let (one, two) = (build(true), build(true));
    one.chat(ask("1"), &CallOptions::default()).await.unwrap();
    two.chat(ask("2"), &CallOptions::default()).await.unwrap();
    // The burst of 2 is spent between them: the third call is refused in either client,
    // with the time until the next slot (1 s at 60 rpm), as the in-process limiter says.
    let refused = one
        .chat(ask("3"), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "rate_limited");
    let after = refused.retry_after().unwrap();
    assert!(
        after > Duration::from_millis(900) && after <= Duration::from_secs(1),
        "{after:?}"
    );
    assert!(two.chat(ask("4"), &CallOptions::default()).await.is_err());
    tokio::time::sleep(after).await;
    two.chat(ask("5"), &CallOptions::default()).await.unwrap();
    assert_eq!(one.metrics().shared_tier.unwrap().limit_fallbacks, 0);

    // The same limit not shared: each client has its own burst.
    let (three, four) = (build(false), build(false));
    for client in [&three, &three, &four, &four] {
        client
            .chat(ask("x"), &CallOptions::default())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn redis_down_or_frozen_costs_calls_nothing_and_is_counted() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let mock = mock("{}").await;
    let text = config_text(&mock, &server, SHARED_CACHE, WIDE_LIMIT);
    let client = client(&text);
    client
        .chat(ask("warm"), &CallOptions::default())
        .await
        .unwrap();
    let tier = || client.metrics().shared_tier.unwrap();
    assert_eq!((tier().cache_fallbacks, tier().limit_fallbacks), (0, 0));
    assert_eq!(tier().limit_checks, 1);

    server.kill();
    for i in 0..5 {
        let started = Instant::now();
        let answer = client
            .chat(ask(&format!("down {i}")), &CallOptions::default())
            .await;
        assert!(answer.is_ok(), "{answer:?}");
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    let down = tier();
    assert!(
        down.cache_fallbacks > 0 && down.limit_fallbacks > 0,
        "{down:?}"
    );

    // Back up: after the pause the tier is used again.
    server.restart();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let writes = tier().cache_writes;
    client
        .chat(ask("back"), &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(tier().cache_writes, writes + 1);

    // Frozen (accepts nothing, answers nothing): each Redis use gives up at its timeout.
    server.freeze(true);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let started = Instant::now();
    client
        .chat(ask("frozen"), &CallOptions::default())
        .await
        .unwrap();
    let took = started.elapsed();
    server.freeze(false);
    assert!(took < Duration::from_millis(400), "{took:?}");
    assert!(tier().limit_fallbacks > down.limit_fallbacks);
}

// ---- several processes -------------------------------------------------------------

/// What a child process reports.
#[derive(Debug, serde::Deserialize)]
struct ChildReport {
    ok: u64,
    hits: u64,
    refused: u64,
    failed: u64,
    cache_fallbacks: u64,
    limit_fallbacks: u64,
}

/// Runs `calls` calls in a child process on `config`, starting at `start_at_ms` (unix
/// ms); prompts are `prompt` with `{i}` replaced by the call's index.
fn spawn_child(
    config: &str,
    prompt: &str,
    calls: u32,
    spacing_ms: u64,
    start_at_ms: u64,
) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SWITCHYARD_CHILD_CONFIG", config)
        .env("SWITCHYARD_CHILD_PROMPT", prompt)
        .env("SWITCHYARD_CHILD_CALLS", calls.to_string())
        .env("SWITCHYARD_CHILD_SPACING_MS", spacing_ms.to_string())
        .env("SWITCHYARD_CHILD_START_AT_MS", start_at_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn reports(children: Vec<std::process::Child>) -> Vec<ChildReport> {
    tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success(), "a child failed");
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                let line = stdout
                    .lines()
                    .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
                    .unwrap_or_else(|| panic!("no result in: {stdout}"));
                serde_json::from_str(line).unwrap()
            })
            .collect()
    })
    .await
    .unwrap()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn several_processes_share_answers_and_limits_through_one_redis() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let mock = mock("{ latency_ms: 300 }").await;
    let cached = config_text(&mock, &server, SHARED_CACHE, NO_LIMITS);

    // An answer one process fetched is a hit in two others.
    let first = reports(vec![spawn_child(&cached, "shared question", 1, 0, 0)]).await;
    assert_eq!((first[0].ok, first[0].hits), (1, 0));
    let at = unix_ms() + 300;
    let others = reports(vec![
        spawn_child(&cached, "shared question", 1, 0, at),
        spawn_child(&cached, "shared question", 1, 0, at),
    ])
    .await;
    assert!(
        others.iter().all(|r| r.ok == 1 && r.hits == 1),
        "{others:?}"
    );
    assert_eq!(mock.counters().total, 1, "the mock saw more than one call");

    // Three processes missing the same answer at once make one upstream call between them.
    let concurrent = |config: &str, prompt: &str| {
        let at = unix_ms() + 500;
        (0..3)
            .map(|_| spawn_child(config, prompt, 1, 0, at))
            .collect::<Vec<_>>()
    };
    let before = mock.counters().total;
    let runs = reports(concurrent(&cached, "asked at once")).await;
    assert!(runs.iter().all(|r| r.ok == 1));
    let coalesced = mock.counters().total - before;
    assert_eq!(
        coalesced, 1,
        "concurrent misses were not coalesced across processes"
    );
    let uncoalesced_config = config_text(
        &mock,
        &server,
        "{ mode: always, shared: { coalesce_wait_ms: 0 } }",
        NO_LIMITS,
    );
    // A slower answer, so that a process starting late under load still misses.
    mock.set_script(Script::from_yaml("models: { '*': [ { latency_ms: 1000 } ] }").unwrap());
    let before = mock.counters().total;
    reports(concurrent(&uncoalesced_config, "asked at once, no claims")).await;
    let uncoalesced = mock.counters().total - before;
    eprintln!(
        "upstream calls for 3 concurrent misses: {coalesced} with claims, {uncoalesced} without"
    );
    assert!(uncoalesced > 1);

    // A shared limit holds across all processes: 3 × 10 calls against rpm 60, burst 4.
    mock.set_script(Script::from_yaml("models: { '*': [ {} ] }").unwrap());
    mock.reset();
    let limited = config_text(
        &mock,
        &server,
        "{ mode: off }",
        "[{ name: per-model, scope: model, rpm: 60, burst: 4, action: reject, shared: true }]",
    );
    let started = Instant::now();
    let at = unix_ms() + 500;
    let runs = reports(
        (0..3)
            .map(|_| spawn_child(&limited, "limited {i}", 10, 20, at))
            .collect(),
    )
    .await;
    let window = started.elapsed().as_secs_f64();
    let admitted: u64 = runs.iter().map(|r| r.ok).sum();
    let refused: u64 = runs.iter().map(|r| r.refused).sum();
    assert_eq!(admitted + refused, 30, "{runs:?}");
    // The burst, plus one per second of the whole run (its start included, generously).
    let bound = 4 + window.ceil() as u64;
    eprintln!("shared limit: {admitted} of 30 calls admitted across 3 processes in {window:.1} s");
    assert!(
        (4..=bound).contains(&admitted),
        "{admitted} admitted in {window:.1} s (bound {bound}); per-process limits would admit 12"
    );
    assert_eq!(mock.counters().total, admitted);
    assert!(runs.iter().all(|r| r.limit_fallbacks == 0 && r.failed == 0));

    // Redis killed mid-run: every call still succeeds, and the fallbacks are counted.
    let wide = config_text(&mock, &server, SHARED_CACHE, WIDE_LIMIT);
    let at = unix_ms() + 300;
    let children = (0..2)
        .map(|_| spawn_child(&wide, "during the outage {i}", 16, 100, at))
        .collect();
    let killer = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(1_000));
        server.kill();
        server
    });
    let runs = reports(children).await;
    drop(killer.await.unwrap());
    for run in &runs {
        assert_eq!((run.ok, run.failed), (16, 0), "{run:?}");
        assert!(
            run.cache_fallbacks > 0 && run.limit_fallbacks > 0,
            "{run:?}"
        );
    }
}

/// The child side of the multi-process test: does nothing unless run by it.
#[tokio::test]
async fn child_process() {
    let Ok(config) = std::env::var("SWITCHYARD_CHILD_CONFIG") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap();
    let prompt = var("SWITCHYARD_CHILD_PROMPT");
    let calls: u32 = var("SWITCHYARD_CHILD_CALLS").parse().unwrap();
    let spacing = Duration::from_millis(var("SWITCHYARD_CHILD_SPACING_MS").parse().unwrap());
    let start_at: u64 = var("SWITCHYARD_CHILD_START_AT_MS").parse().unwrap();
    let client = client(&config);
    let now = unix_ms();
    if start_at > now {
        tokio::time::sleep(Duration::from_millis(start_at - now)).await;
    }
    let (mut ok, mut hits, mut refused, mut failed) = (0, 0, 0, 0);
    for i in 0..calls {
        let text = prompt.replace("{i}", &i.to_string());
        match client.chat(ask(&text), &CallOptions::default()).await {
            Ok(answer) => {
                ok += 1;
                hits += u64::from(answer.meta.cache_hit);
            }
            Err(e) if e.code() == "rate_limited" => refused += 1,
            Err(e) => {
                eprintln!("child call failed: {e}");
                failed += 1;
            }
        }
        tokio::time::sleep(spacing).await;
    }
    let tier = client.metrics().shared_tier.unwrap_or_default();
    let report = json!({
        "ok": ok, "hits": hits, "refused": refused, "failed": failed,
        "cache_fallbacks": tier.cache_fallbacks, "limit_fallbacks": tier.limit_fallbacks,
    });
    println!("RESULT {report}");
}
