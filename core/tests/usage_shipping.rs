//! Usage shipping end to end: a real `Client` against the mock provider, shipping to a
//! recording stand-in for the server's usage endpoint (`support/collector.rs`) that can
//! be down, refuse, fail or stall.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/collector.rs"]
mod collector;
#[path = "support/spooled.rs"]
mod spooled;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use collector::{Answer, Collector};
use serde_json::Value;
use spooled::spooled;
use switchyard::config::{Config, Secret};
use switchyard::telemetry::{CallStatus, MemorySink, UsageSink};
use switchyard::types::{ChatRequest, Message};
use switchyard::usage::{ShippingSink, UsageShipping};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

const KEY: &str = "sy_test_usage_key";

async fn mock() -> MockServer {
    MockServer::start_with(Script::from_yaml("models: { '*': [ {} ] }").unwrap())
        .await
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sy-usage-{name}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(mock: &MockServer, usage: &str) -> Config {
    Config::from_yaml(&format!(
        "version: 1\nidentity: {{ tenant: t, app: a }}\n\
         providers: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
         models: {{ chat: {{ deployments: [ {{ provider: oa, model: m }} ] }} }}\n{usage}",
        mock.url()
    ))
    .unwrap()
}

fn client_with(mock: &MockServer, sink: Arc<ShippingSink>) -> Client {
    Client::builder()
        .config(config(mock, ""))
        .usage_sink(sink)
        .build()
        .unwrap()
}

fn shipping(collector: &Collector, spool: &Path) -> UsageShipping {
    UsageShipping::new(collector.url(), Secret::new(KEY)).spool_dir(spool)
}

/// `n` calls, tagged `round` in their metadata; all must succeed.
async fn calls(client: &Client, n: usize, round: &str) {
    let options = CallOptions {
        metadata: BTreeMap::from([("round".to_owned(), round.to_owned())]),
        ..CallOptions::default()
    };
    let calls = (0..n).map(|i| {
        let request = ChatRequest::new("chat", vec![Message::user(format!("hi {i}"))]);
        let options = options.clone();
        async move { client.chat(request, &options).await }
    });
    for outcome in futures_util::future::join_all(calls).await {
        outcome.unwrap();
    }
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn rounds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["metadata"]["round"].as_str().unwrap_or("-").to_owned())
        .collect()
}

/// Waits (up to 5 s) for `done`: the collector keeps a batch before it answers, so the
/// sink's side of an exchange may lag what the collector shows.
async fn eventually(done: impl Fn() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while !done() {
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_a_config_section_arrive_once_batched_gzipped_with_the_key() {
    let mock = mock().await;
    let collector = Collector::start();
    let spool = temp_dir("basic");
    let usage = format!(
        "usage: {{ server: \"{}\", api_key: {KEY}, spool_dir: \"{}\" }}\n",
        collector.url(),
        spool.display()
    );
    let client = Client::builder()
        .config(config(&mock, &usage))
        .build()
        .unwrap();
    const N: usize = 2500;
    for chunk in 0..(N / 250) {
        calls(&client, 250, &chunk.to_string()).await;
    }
    let last_call = Instant::now();
    let waited = collector
        .wait_for_events(N, Duration::from_secs(5))
        .await
        .expect("every event within 5 s");
    let received = collector.received();
    let events = collector.events();
    let unique: HashSet<String> = ids(&events).into_iter().collect();
    assert_eq!(
        (events.len(), unique.len()),
        (N, N),
        "each event exactly once"
    );
    assert!(received.len() >= N.div_ceil(1000));
    for r in &received {
        assert!(
            r.batch.events.len() <= 1000,
            "{} events",
            r.batch.events.len()
        );
        assert_eq!(r.content_encoding, "gzip");
        assert_eq!(r.authorization, format!("Bearer {KEY}"));
        assert_eq!(r.batch.dropped, 0);
    }
    // The last batch leaves within about the batch interval of the last call.
    assert!(
        last_call.elapsed() < Duration::from_millis(2500),
        "arrived {waited:?} after the last call"
    );
    for id in &unique {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 7, "{id}");
        assert_eq!(&uuid.hyphenated().to_string(), id, "canonical form");
    }
    let event = &events[0];
    assert_eq!(event["model"], "chat");
    // The server charges the key's app: the config's identity labels are not shipped.
    assert!(
        event["tenant"].is_null() && event["app"].is_null(),
        "{event}"
    );
    assert_eq!(event["status"], "ok");
    // Nothing was spooled: the server was there.
    assert!(spooled(&spool).is_empty());
    client.shutdown().await;
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_server_down_batches_spool_and_arrive_in_order_once_it_is_back() {
    let mock = mock().await;
    let mut collector = Collector::down();
    let spool = temp_dir("down");
    let sink = shipping(&collector, &spool).start().unwrap();
    let client = client_with(&mock, sink.clone());
    for round in 1..=3 {
        calls(&client, 20, &round.to_string()).await;
        let started = Instant::now();
        client.flush().await;
        // With the server refusing connections, a flush ends once the batch is on disk.
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    let files = spooled(&spool);
    assert_eq!(files.len(), 3, "{files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in &files {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
            let dir_mode = std::fs::metadata(file.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dir_mode, 0o700);
        }
    }
    collector.up();
    // A batch made now, before the spool's next try, waits behind the spooled ones.
    calls(&client, 5, "4").await;
    client.flush().await;
    collector
        .wait_for_events(65, Duration::from_secs(20))
        .await
        .expect("the spool replayed");
    let events = collector.events();
    assert_eq!(ids(&events).into_iter().collect::<HashSet<_>>().len(), 65);
    assert_eq!(events.len(), 65, "each once");
    let order = rounds(&events);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "oldest first, the newest last");
    assert!(eventually(|| spooled(&spool).is_empty()).await);
    assert!(eventually(|| sink.stats().accepted == 65).await);
    let _ = std::fs::remove_dir_all(&spool);
}

/// The gzip size of one spooled batch of `n` calls, measured in a spool of its own.
async fn batch_size(mock: &MockServer, n: usize) -> u64 {
    let collector = Collector::down();
    let spool = temp_dir("measure");
    let client = client_with(mock, shipping(&collector, &spool).start().unwrap());
    calls(&client, n, "0").await;
    client.flush().await;
    let size = std::fs::metadata(&spooled(&spool)[0]).unwrap().len();
    let _ = std::fs::remove_dir_all(&spool);
    size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_spool_cap_the_oldest_batches_go_and_the_next_batch_reports_them() {
    let mock = mock().await;
    let size = batch_size(&mock, 10).await;
    let mut collector = Collector::down();
    let spool = temp_dir("cap");
    // Room for two batches of ten events, not three.
    let sink = shipping(&collector, &spool)
        .spool_max_bytes(size * 5 / 2)
        .start()
        .unwrap();
    let client = client_with(&mock, sink.clone());
    for round in 1..=4 {
        calls(&client, 10, &round.to_string()).await;
        client.flush().await;
    }
    assert_eq!(spooled(&spool).len(), 2);
    assert_eq!(sink.stats().spool_dropped, 20);
    collector.up();
    collector
        .wait_for_events(20, Duration::from_secs(20))
        .await
        .expect("the spool replayed");
    let acked = collector.acked();
    assert_eq!(
        rounds(&collector.events()),
        [vec!["3"; 10], vec!["4"; 10]].concat()
    );
    assert_eq!(acked[0].batch.dropped, 20, "the drops reported once");
    assert!(acked[1..].iter().all(|r| r.batch.dropped == 0));
    assert!(eventually(|| sink.stats().unreported == 0).await);
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_started_later_replays_what_an_earlier_one_left_and_leaves_live_spools_alone() {
    let mock = mock().await;
    let mut collector = Collector::down();
    let spool = temp_dir("restart");
    let first = client_with(&mock, shipping(&collector, &spool).start().unwrap());
    calls(&first, 15, "first").await;
    first.flush().await;
    // A second client, alive at the same time on the same spool, takes nothing of it.
    let live_sink = shipping(&collector, &spool).start().unwrap();
    let live = client_with(&mock, live_sink.clone());
    calls(&live, 5, "live").await;
    live.flush().await;
    assert_eq!(spooled(&spool).len(), 2);
    // The first goes away with its batch still spooled.
    first.shutdown().await;
    drop(first);
    switchyard::usage::flush_all(Duration::from_secs(5)).await;
    assert_eq!(spooled(&spool).len(), 2, "left for the next process");
    collector.up();
    let third = client_with(&mock, shipping(&collector, &spool).start().unwrap());
    collector
        .wait_for_events(15, Duration::from_secs(10))
        .await
        .expect("the leftovers replayed");
    assert_eq!(rounds(&collector.events()), vec!["first"; 15]);
    // The live one's batch is still its own, delivered when it retries.
    collector
        .wait_for_events(20, Duration::from_secs(20))
        .await
        .expect("the live client's batch");
    let events = collector.events();
    assert_eq!(ids(&events).into_iter().collect::<HashSet<_>>().len(), 20);
    assert_eq!(events.len(), 20);
    assert!(eventually(|| live_sink.stats().accepted == 5).await);
    drop(third);
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_is_dropped_and_a_failed_one_retried() {
    let mock = mock().await;
    let collector = Collector::start();
    let spool = temp_dir("refused");
    let sink = shipping(&collector, &spool).start().unwrap();
    let client = client_with(&mock, sink.clone());
    collector.script([Answer::Status(400)]);
    calls(&client, 7, "refused").await;
    client.flush().await;
    assert_eq!(collector.received().len(), 1);
    assert_eq!(sink.stats().refused, 7);
    // Not retried: the next batch is a new one.
    collector.script([Answer::Status(500), Answer::Status(503)]);
    calls(&client, 4, "retried").await;
    client.flush().await;
    collector
        .wait_for_events(4, Duration::from_secs(15))
        .await
        .expect("retried until accepted");
    let received = collector.received();
    let statuses: Vec<u16> = received.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 500, 503, 200]);
    assert_eq!(rounds(&collector.events()), vec!["retried"; 4]);
    // The same events each time.
    assert_eq!(
        ids(&received[1].batch.events),
        ids(&received[3].batch.events)
    );
    assert!(eventually(|| spooled(&spool).is_empty()).await);
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_and_shutdown_deliver_what_was_queued() {
    let mock = mock().await;
    let collector = Collector::start();
    let spool = temp_dir("flush");
    let client = client_with(&mock, shipping(&collector, &spool).start().unwrap());
    calls(&client, 30, "a").await;
    client.flush().await;
    // No waiting: flush returned after the ack.
    assert_eq!(collector.events().len(), 30);
    calls(&client, 12, "b").await;
    client.shutdown().await;
    assert_eq!(collector.events().len(), 42);
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_never_blocks_a_call_and_its_drops_are_reported() {
    let mock = mock().await;
    let collector = Collector::start();
    let spool = temp_dir("full");
    let sink = shipping(&collector, &spool)
        .queue_capacity(8)
        .start()
        .unwrap();
    let client = client_with(&mock, sink.clone());
    // The server holds the first batch: the deliverer waits, the batches sealed meanwhile
    // (a flush seals one) back up behind it, then the batcher, and the queue fills.
    collector.script([Answer::Stall(Duration::from_millis(4500))]);
    calls(&client, 1, "first").await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    for round in 0..12 {
        calls(&client, 50, &format!("r{round}")).await;
        let flushing = client.clone();
        tokio::spawn(async move { flushing.flush().await });
    }
    // Every call ended while the server still held the first batch.
    assert!(
        collector.received().is_empty(),
        "a call waited for the server"
    );
    let dropped = sink.stats().queue_dropped;
    assert!(dropped > 0, "the queue never filled");
    client.flush().await;
    collector
        .wait_for_events(1, Duration::from_secs(20))
        .await
        .unwrap();
    client.flush().await;
    let acked = collector.acked();
    let reported: u64 = acked.iter().map(|r| r.batch.dropped).sum();
    assert_eq!(reported, dropped, "every drop reported once");
    let delivered: HashSet<String> = ids(&collector.events()).into_iter().collect();
    assert_eq!(delivered.len() as u64 + dropped, 601);
    let _ = std::fs::remove_dir_all(&spool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_counts_its_fallbacks_and_names_its_rollout_arm() {
    let mock = MockServer::start_with(
        Script::from_yaml("models: { broken: [ { status: 400 } ], '*': [ {} ] }").unwrap(),
    )
    .await
    .unwrap();
    let config = Config::from_yaml(&format!(
        "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
         models:\n\
         \x20 first: {{ deployments: [ {{ provider: oa, model: broken }} ], fallbacks: {{ default: [second] }} }}\n\
         \x20 second: {{ deployments: [ {{ provider: oa, model: broken }} ], fallbacks: {{ default: [chat] }} }}\n\
         \x20 chat:\n\
         \x20   deployments: [ {{ provider: oa, model: m, version: stable }}, {{ provider: oa, model: m2, version: canary }} ]\n\
         \x20   rollout: {{ split: {{ stable: 100 }} }}\n\
         \x20 trial:\n\
         \x20   deployments: [ {{ provider: oa, model: m, version: stable }}, {{ provider: oa, model: broken, version: canary }} ]\n\
         \x20   rollout: {{ split: {{ stable: 0, canary: 100 }} }}\n",
        mock.url()
    ))
    .unwrap();
    let sink = Arc::new(MemorySink::default());
    let client = Client::builder()
        .config(config)
        .usage_sink(sink.clone() as Arc<dyn UsageSink>)
        .build()
        .unwrap();
    let request = |model: &str| ChatRequest::new(model, vec![Message::user("hi")]);
    client
        .chat(request("first"), &CallOptions::default())
        .await
        .unwrap();
    client
        .chat(request("chat"), &CallOptions::default())
        .await
        .unwrap();
    let events = sink.events();
    assert_eq!(events[0].fallbacks, 2);
    assert_eq!(events[0].fallback.as_deref(), Some("chat"));
    assert_eq!(events[0].arm.as_deref(), Some("stable"));
    assert_eq!(
        (events[1].fallbacks, events[1].arm.as_deref()),
        (0, Some("stable"))
    );
    // A call its arm failed names that arm too: the server compares arms by assignment.
    let failed = client
        .chat(request("trial"), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(failed.http_status(), Some(400), "{failed}");
    let events = sink.events();
    assert_eq!(
        events[2].status,
        CallStatus::Error {
            code: failed.code().to_owned()
        }
    );
    assert_eq!(events[2].arm.as_deref(), Some("canary"));
}
