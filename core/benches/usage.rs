//! What usage shipping adds to a call: `record()` on the shipping sink (the enqueue a call
//! pays) against a sink that only counts, the same with call logs on (`all`: the call path
//! copies a 2 KB prompt and answer; redaction and serialization run in the batcher), and
//! the same pipeline call with each sink, in one run. The shipper ships to an in-process endpoint that acks every batch, so its batching,
//! gzip and POSTs run as they would in production, on the same cores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::call_log::{Answer, Asked, Captured};
use switchyard::config::{CallLogConfig, CallLogMode, Config, Secret};
use switchyard::sdk_protocol::{USAGE_PATH, UsageAck};
use switchyard::telemetry::{CallStatus, EventContent, UsageEvent, UsageSink};
use switchyard::types::{ChatRequest, ChatResponse, Message};
use switchyard::usage::UsageShipping;
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

#[path = "support/counting_sink.rs"]
mod counting_sink;

use counting_sink::CountingSink;

/// An endpoint that acks every batch without reading it: its base URL.
async fn ack_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route(
        USAGE_PATH,
        post(|| async { axum::Json(UsageAck::default()) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A typical event: what a chat call through a deployment records.
fn event() -> UsageEvent {
    UsageEvent {
        rule: None,
        masked: Default::default(),
        id: uuid::Uuid::now_v7().to_string(),
        time_ms: 1_765_000_000_000,
        tenant: Some("acme".into()),
        app: Some("support-bot".into()),
        user: Some("user-1".into()),
        model: "chat".into(),
        deployment: Some("openai/gpt-4o-mini".into()),
        provider: Some("oa".into()),
        upstream_model: Some("gpt-4o-mini-2024-07-18".into()),
        prompt_tokens: 812,
        completion_tokens: 64,
        cached_tokens: 0,
        cost_usd: 0.000_16,
        latency_ms: 412.5,
        ttft_ms: None,
        status: CallStatus::Ok,
        cache_hit: false,
        attempts: 1,
        fallback: None,
        fallbacks: 0,
        arm: None,
        local: false,
        stream: false,
        tags: vec!["checkout".into()],
        metadata: BTreeMap::from([("feature".into(), "summary".into())]),
        lease: None,
        content: None,
    }
}

/// A support conversation of about 2 KB, with PII in it, and its answer of about 2 KB.
fn conversation() -> (ChatRequest, ChatResponse) {
    let customer = "Hello, I booked flight AC 118 on 2024-11-30 and was charged twice on my \
        card 4111 1111 1111 1111. Please call me on +44 20 7946 0958 or write to \
        jane.doe@example.co.uk. The amount was 1,299.00 EUR. ";
    let request = ChatRequest::new(
        "chat",
        vec![
            Message::system("You are the support assistant of Acme Travel. ".repeat(8)),
            Message::user(customer.repeat(4)),
        ],
    );
    let answer = "I am sorry about the double charge on booking ACM-2024-118842; the duplicate \
        payment will be returned to the original card within 5 to 7 business days. ";
    let response: ChatResponse = serde_json::from_value(serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer.repeat(12)}}],
    }))
    .unwrap();
    (request, response)
}

fn usage(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let endpoint = runtime.block_on(ack_server());
    let spool = std::env::temp_dir().join(format!("sy-bench-spool-{}", std::process::id()));
    let shipping = || {
        let _entered = runtime.enter();
        UsageShipping::new(endpoint.as_str(), Secret::new("sy_bench"))
            .spool_dir(&spool)
            .start()
            .unwrap()
    };

    let mut group = c.benchmark_group("usage_record");
    let counting = CountingSink::default();
    let shipper = shipping();
    let sample = event();
    group.bench_function("counting", |b| {
        b.iter(|| counting.record(black_box(&sample)))
    });
    // Timed in rounds well under the queue's capacity, each drained (untimed) before the
    // next: so the figure is the enqueue, not the cheaper drop of a full queue.
    let rounds = |iters: u64, record: &mut dyn FnMut()| {
        let mut spent = std::time::Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let round = left.min(10_000);
            let started = std::time::Instant::now();
            for _ in 0..round {
                record();
            }
            spent += started.elapsed();
            left -= round;
            runtime.block_on(shipper.flush());
        }
        spent
    };
    group.bench_function("shipping", |b| {
        b.iter_custom(|iters| rounds(iters, &mut || shipper.record(black_box(&sample))))
    });
    // Call logs on (`all`): the call path's part is the capture (owned copies of the
    // request and the answer) and the same enqueue; its content is redacted and serialized
    // when the batcher seals the batch.
    let logging = CallLogConfig {
        content: CallLogMode::All,
        ..CallLogConfig::default()
    };
    let (request, response) = conversation();
    let sized = Captured::new(
        &logging,
        Asked::Chat(Box::new(request.clone())),
        Answer::Chat(Box::new(response.clone())),
    );
    let bytes = serde_json::to_vec(&sized.content().unwrap()).unwrap().len();
    eprintln!("logged content per call: {bytes} bytes of JSON");
    let mut event = sample.clone();
    // The enqueue alone of an event that carries content (built once): the figure the
    // usage loop holds to, with logging on.
    let mut carrying = sample.clone();
    carrying.content = Some(EventContent::Captured(Arc::new(sized.clone())));
    group.bench_function("shipping_with_content", |b| {
        b.iter_custom(|iters| rounds(iters, &mut || shipper.record(black_box(&carrying))))
    });
    group.bench_function("shipping_call_log_all", |b| {
        b.iter_custom(|iters| {
            rounds(iters, &mut || {
                event.content = Some(EventContent::Captured(Arc::new(Captured::new(
                    &logging,
                    Asked::Chat(Box::new(request.clone())),
                    Answer::Chat(Box::new(response.clone())),
                ))));
                shipper.record(black_box(&event));
            })
        })
    });
    group.finish();
    eprintln!(
        "shipping sink after the record bench: {:?}",
        shipper.stats()
    );

    let mock = runtime
        .block_on(MockServer::start_with(
            Script::from_yaml(&format!(
                "models: {{ '*': [ {{ content: {} }} ] }}",
                serde_json::to_string(&conversation().1.choices[0].message.content).unwrap()
            ))
            .unwrap(),
        ))
        .unwrap();
    let config = Config::from_yaml(&format!(
        "version: 1\nidentity: {{ tenant: bench, app: bench }}\n\
         providers: {{ oa: {{ kind: openai, base_url: \"{}/v1\", api_key: sk-bench }} }}\n\
         models: {{ chat: {{ deployments: [{{ provider: oa, model: gpt-4o-mini }}], cache: {{ mode: off }} }} }}\n",
        mock.url()
    ))
    .unwrap();
    let with = |sink: Arc<dyn UsageSink>, config: &Config| {
        let _entered = runtime.enter();
        Client::builder()
            .config(config.clone())
            .usage_sink(sink)
            .build()
            .unwrap()
    };
    let counted = with(Arc::new(CountingSink::default()), &config);
    let shipped_sink = shipping();
    let shipped = with(shipped_sink.clone(), &config);
    // The same calls with every one logged (the 2 KB conversation's request).
    let mut logged_config = config.clone();
    logged_config.call_logs = Some(logging.clone());
    let logged_sink = shipping();
    let logged = with(logged_sink.clone(), &logged_config);
    let options = CallOptions::default();
    let mut group = c.benchmark_group("usage_pipeline");
    for (name, client) in [
        ("counting_sink", &counted),
        ("shipping_sink", &shipped),
        ("shipping_sink_call_log_all", &logged),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let request = conversation().0;
                let client = client.clone();
                let options = options.clone();
                async move { client.chat(request, &options).await.unwrap() }
            })
        });
    }
    group.finish();
    runtime.block_on(shipped.flush());
    eprintln!(
        "shipping sink after the pipeline bench: {:?}",
        shipped_sink.stats()
    );
    let _ = std::fs::remove_dir_all(&spool);
}

criterion_group!(benches, usage);
criterion_main!(benches);
