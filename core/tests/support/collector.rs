//! A stand-in for the server's usage endpoint: records every `POST /sdk/v1/usage` (its
//! key, encoding and decoded batch), answers with an ack, and can be told to fail, refuse
//! or stall, or be stopped and started again on the same port.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use switchyard::sdk_protocol::{USAGE_PATH, UsageAck, UsageBatch};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub authorization: String,
    pub content_encoding: String,
    pub batch: UsageBatch<Value>,
    /// The body as sent, gzip-decoded: what crossed the wire.
    pub raw: String,
    /// The status it was answered with.
    pub status: u16,
}

/// How the next requests are answered.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Hold the request this long, then ack.
    Stall(Duration),
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Answer>>,
    stored: Mutex<HashSet<String>>,
}

pub struct Collector {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Collector {
    /// Listening on a free port.
    pub fn start() -> Collector {
        Collector::start_on("127.0.0.1:0".parse().unwrap())
    }

    /// A port nobody listens on (yet): the server is down.
    pub fn down() -> Collector {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        Collector {
            addr,
            shared: Arc::new(Shared::default()),
            runtime: None,
        }
    }

    fn start_on(addr: SocketAddr) -> Collector {
        let mut collector = Collector {
            addr,
            shared: Arc::new(Shared::default()),
            runtime: None,
        };
        collector.up();
        collector
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts listening (again) on its port.
    pub fn up(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind(self.addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let _entered = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        self.addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route(USAGE_PATH, post(usage))
            .with_state(self.shared.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        drop(_entered);
        self.runtime = Some(runtime);
    }

    /// Stops listening and drops every open connection.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// The next requests get these answers, in order; then acks again.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.script.lock().unwrap().extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The batches answered 200, in order.
    pub fn acked(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.status == 200)
            .collect()
    }

    /// Every event of the acked batches, in order.
    pub fn events(&self) -> Vec<Value> {
        self.acked()
            .into_iter()
            .flat_map(|r| r.batch.events)
            .collect()
    }

    /// Waits (up to `limit`) until `n` events were acked; the time it took.
    pub async fn wait_for_events(&self, n: usize, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.events().len() >= n {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn usage(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = shared.script.lock().unwrap().pop_front();
    if let Some(Answer::Stall(time)) = answer {
        tokio::time::sleep(time).await;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_encoding = header("content-encoding");
    let mut json = Vec::new();
    if content_encoding == "gzip" {
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut json)
            .unwrap();
    } else {
        json = body.to_vec();
    }
    let batch: UsageBatch<Value> = serde_json::from_slice(&json).unwrap();
    let status = match answer {
        Some(Answer::Status(code)) => code,
        _ => 200,
    };
    let mut ack = UsageAck::default();
    if status == 200 {
        let mut stored = shared.stored.lock().unwrap();
        for event in &batch.events {
            if stored.insert(event["id"].as_str().unwrap_or_default().to_owned()) {
                ack.accepted += 1;
            } else {
                ack.duplicates += 1;
            }
        }
    }
    shared.received.lock().unwrap().push(Received {
        at: Instant::now(),
        authorization: header("authorization"),
        content_encoding,
        batch,
        raw: String::from_utf8_lossy(&json).into_owned(),
        status,
    });
    if status == 200 {
        axum::Json(ack).into_response()
    } else {
        (
            StatusCode::from_u16(status).unwrap(),
            axum::Json(serde_json::json!({"code": "x", "message": "scripted"})),
        )
            .into_response()
    }
}
