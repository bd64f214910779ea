//! Throughput through one client: N concurrent callers for a fixed time against the mock
//! provider (on its own runtime thread), once as bare reqwest calls and once through the
//! full pipeline, so the ratio comes from one run on one machine. Used by
//! `bench/pipeline-load.sh`; bounded in time and loopback only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchyard::config::Config;
use switchyard::types::{ChatRequest, ChatResponse, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

fn arg(index: usize, default: u64) -> u64 {
    std::env::args()
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn request(n: u64) -> ChatRequest {
    let mut request = ChatRequest::new(
        "chat",
        vec![Message::user(format!("Say hi to caller {n}."))],
    );
    request.max_tokens = Some(16);
    request
}

async fn run<F, Fut>(callers: u64, seconds: u64, call: F) -> (u64, u64)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let (call, stop, ok, failed) = (call.clone(), stop.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                let mut n = c << 32;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let counter = if call(n).await { &ok } else { &failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

fn main() {
    let callers = arg(1, 64);
    let seconds = arg(2, 5);
    let script = Script::from_yaml("models: { '*': [ { content: hi } ] }").unwrap();
    let mock = MockServer::start_on_own_thread(script).unwrap();
    let base = mock.url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let config = Config::from_yaml(&format!(
            r#"
version: 1
identity: {{ tenant: load, app: load }}
providers:
  oa: {{ kind: openai, base_url: "{base}/v1", api_key: sk-load }}
models:
  chat:
    deployments: [{{ provider: oa, model: gpt-4o-mini, name: a }}, {{ provider: oa, model: gpt-4o-mini, name: b }}]
budgets:
  - {{ name: tenant-day, scope: tenant, period: day, limit_usd: 1000000000 }}
rate_limits:
  - {{ name: app-rpm, scope: app, rpm: 1000000000, action: reject }}
"#
        ))
        .unwrap();
        let client = Client::builder().config(config).build().unwrap();
        let http = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
        let url = format!("{base}/v1/chat/completions");

        let started = Instant::now();
        let (ok, failed) = run(callers, seconds, move |n| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let mut body = request(n);
                body.model = "gpt-4o-mini".into();
                let Ok(response) = http.post(&url).bearer_auth("sk-load").json(&body).send().await else {
                    return false;
                };
                let Ok(bytes) = response.bytes().await else {
                    return false;
                };
                serde_json::from_slice::<ChatResponse>(&bytes).is_ok()
            }
        })
        .await;
        let bare = ok as f64 / started.elapsed().as_secs_f64();
        println!("bare reqwest: {bare:>9.0} calls/s ({ok} ok, {failed} failed, {callers} callers)");

        let started = Instant::now();
        let options = CallOptions::default();
        let (ok, failed) = run(callers, seconds, move |n| {
            let (client, options) = (client.clone(), options.clone());
            async move { client.chat(request(n), &options).await.is_ok() }
        })
        .await;
        let pipeline = ok as f64 / started.elapsed().as_secs_f64();
        println!("pipeline:     {pipeline:>9.0} calls/s ({ok} ok, {failed} failed, {callers} callers)");
        println!("ratio pipeline/bare: {:.2}", pipeline / bare);
    });
}
