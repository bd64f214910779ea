//! What the pipeline adds to a call: the same request against the same in-process mock,
//! once as a bare reqwest POST + parse (the baseline), once through `Client::chat` with
//! every feature on (budgets, rate limits, telemetry with a usage sink, the cache consulted
//! and missed), once with none of them (`pipeline_plain`), and once as a cache hit.
//! Compare the medians within one run.
//!
//! `chat_call` runs everything (mock, reqwest, pipeline) on one thread, so the difference
//! of two medians is the pipeline's own work. `chat_call_mt` repeats the baseline and the
//! miss on a two-worker runtime, as most services run: there each call also hops between
//! threads, and on a shared 2-core machine those wake-ups swing the bare call by 4x from
//! run to run, which buries a difference of microseconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::config::Config;
use switchyard::types::{ChatRequest, ChatResponse, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

#[path = "support/counting_sink.rs"]
mod counting_sink;

use counting_sink::CountingSink;

fn config(base: &str) -> Config {
    Config::from_yaml(&format!(
        r#"
version: 1
identity: {{ tenant: bench, app: bench }}
providers:
  oa: {{ kind: openai, base_url: "{base}/v1", api_key: sk-bench }}
models:
  chat:
    deployments:
      - {{ provider: oa, model: gpt-4o-mini, name: a }}
      - {{ provider: oa, model: gpt-4o-mini, name: b }}
    cache: {{ mode: always }}
budgets:
  - {{ name: tenant-day, scope: tenant, period: day, limit_usd: 1000000000 }}
  - {{ name: user-day, scope: user, period: day, limit_usd: 1000000000 }}
rate_limits:
  - {{ name: app-rpm, scope: app, rpm: 1000000000, action: reject }}
"#
    ))
    .unwrap()
}

fn request(n: u64, temperature: f64) -> ChatRequest {
    let mut request = ChatRequest::new(
        "chat",
        vec![
            Message::system("You are a concise assistant for a travel booking product."),
            Message::user(format!("Suggest one city to visit in spring, request {n}.")),
        ],
    );
    request.temperature = Some(temperature);
    request.max_tokens = Some(64);
    request.user = Some("user-1".into());
    request
}

fn pipeline(c: &mut Criterion) {
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    calls(c, "chat_call", &single, true);
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    calls(c, "chat_call_mt", &multi, false);
}

/// The baseline and the pipeline's calls on `runtime`; `all` adds the plain and hit cases.
fn calls(c: &mut Criterion, name: &str, runtime: &tokio::runtime::Runtime, all: bool) {
    let mock = runtime
        .block_on(MockServer::start_with(
            Script::from_yaml("models: { '*': [ { content: Lisbon. } ] }").unwrap(),
        ))
        .unwrap();
    let base = mock.url();
    let client = Client::builder()
        .config(config(&base))
        .usage_sink(Arc::new(CountingSink::default()))
        .build()
        .unwrap();
    let plain_config = format!(
        "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{base}/v1\", api_key: sk-bench }} }}\n\
         models: {{ chat: {{ deployments: [{{ provider: oa, model: gpt-4o-mini }}], cache: {{ mode: off }} }} }}\n"
    );
    let plain = Client::builder()
        .config(Config::from_yaml(&plain_config).unwrap())
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let counter = AtomicU64::new(0);
    let options = CallOptions::default();

    let mut group = c.benchmark_group(name);
    group.bench_function("bare_reqwest", |b| {
        b.to_async(runtime).iter(|| {
            let mut body = request(counter.fetch_add(1, Ordering::Relaxed), 0.7);
            body.model = "gpt-4o-mini".into();
            let http = http.clone();
            let url = format!("{base}/v1/chat/completions");
            async move {
                let bytes = http
                    .post(url)
                    .bearer_auth("sk-bench")
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                serde_json::from_slice::<ChatResponse>(&bytes).unwrap()
            }
        })
    });
    if all {
        group.bench_function("pipeline_plain", |b| {
            b.to_async(runtime).iter(|| {
                let request = request(counter.fetch_add(1, Ordering::Relaxed), 0.7);
                let plain = plain.clone();
                let options = options.clone();
                async move { plain.chat(request, &options).await.unwrap() }
            })
        });
    }
    group.bench_function("pipeline_cache_miss", |b| {
        b.to_async(runtime).iter(|| {
            let request = request(counter.fetch_add(1, Ordering::Relaxed), 0.7);
            let client = client.clone();
            let options = options.clone();
            async move { client.chat(request, &options).await.unwrap() }
        })
    });
    if all {
        group.bench_function("pipeline_cache_hit", |b| {
            runtime
                .block_on(client.chat(request(0, 0.0), &options))
                .unwrap();
            b.to_async(runtime).iter(|| {
                let client = client.clone();
                let options = options.clone();
                async move { client.chat(request(0, 0.0), &options).await.unwrap() }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
