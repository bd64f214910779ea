//! Usage ingestion load: posts `EVENTS` fresh usage events in batches of `BATCH` over
//! `CONNECTIONS` concurrent keep-alive connections to `/sdk/v1/usage`, and prints the
//! events stored per second (from the acks, so only durable events count).
//!
//! `usage_load ADDR APP_KEY EVENTS BATCH CONNECTIONS [gzip]` (see `bench/usage-ingest.sh`).
//! Plain HTTP/1.1 over TCP, bodies built before the clock starts, so the measurement has
//! no client library and no JSON encoding in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn body(batch: usize, seq: &mut u64, run: &str, gzip: bool, t0: i64) -> Vec<u8> {
    let mut events = Vec::with_capacity(batch);
    for _ in 0..batch {
        *seq += 1;
        let n = *seq;
        events.push(serde_json::json!({
            "id": format!("{run}-{:04x}-4000-8000-{n:012x}", (n >> 48) & 0xffff),
            "time_ms": t0 + (n as i64 % 3_600_000), "tenant": null, "app": null,
            "user": format!("u{}", n % 100), "model": if n % 3 == 0 { "claude" } else { "chat" },
            "deployment": format!("dep-{}", n % 4), "provider": "openai",
            "upstream_model": "gpt-4o-mini", "prompt_tokens": 420, "completion_tokens": 96,
            "cached_tokens": 0, "cost_usd": 0.000_123 * (n % 17) as f64,
            "latency_ms": (n % 2500) as f64, "ttft_ms": null,
            "status": if n % 50 == 0 { serde_json::json!({"error": {"code": "timeout"}}) } else { serde_json::json!("ok") },
            "cache_hit": n % 10 == 0, "attempts": 1, "fallback": null, "fallbacks": 0,
            "arm": null, "local": false, "stream": false, "tags": ["bench"], "metadata": {}
        }));
    }
    let raw = serde_json::to_vec(&serde_json::json!({"events": events})).unwrap();
    if !gzip {
        return raw;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw).unwrap();
    enc.finish().unwrap()
}

/// One keep-alive POST; returns the status and body.
async fn post(
    conn: &mut BufReader<TcpStream>,
    addr: &str,
    key: &str,
    body: &[u8],
    gzip: bool,
) -> (u16, String) {
    let enc = if gzip {
        "content-encoding: gzip\r\n"
    } else {
        ""
    };
    let head = format!(
        "POST /sdk/v1/usage HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\n{enc}content-length: {}\r\n\r\n",
        body.len()
    );
    let s = conn.get_mut();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut status_line = String::new();
    conn.read_line(&mut status_line).await.unwrap();
    let status = status_line
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).await.unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut buf = vec![0; length];
    conn.read_exact(&mut buf).await.unwrap();
    (status, String::from_utf8_lossy(&buf).into_owned())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args[1].clone();
    let key = args[2].clone();
    let events: usize = args[3].parse().unwrap();
    let batch: usize = args[4].parse().unwrap();
    let connections: usize = args[5].parse().unwrap();
    let gzip = args.get(6).is_some_and(|a| a == "gzip");
    // A run prefix unique to this process keeps every run's ids new.
    let run = format!(
        "{:08x}",
        std::process::id() ^ (Instant::now().elapsed().subsec_nanos())
    );
    let mut seq = 0;
    // The last two hours: inside any retention period, never ahead of the server.
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        - 7_200_000;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..events.div_ceil(batch))
            .map(|_| body(batch, &mut seq, &run, gzip, t0))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, key, bodies, next) = (addr.clone(), key.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = BufReader::new(TcpStream::connect(&addr).await.unwrap());
            let mut accepted = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(b) = bodies.get(i) else { break };
                let (status, ack) = post(&mut conn, &addr, &key, b, gzip).await;
                assert_eq!(status, 200, "{ack}");
                let ack: serde_json::Value = serde_json::from_str(&ack).unwrap();
                accepted += ack["accepted"].as_u64().unwrap();
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"events\": {accepted}, \"seconds\": {secs:.3}, \"events_per_s\": {:.0}, \"batch\": {batch}, \"connections\": {connections}, \"gzip\": {gzip}}}",
        accepted as f64 / secs
    );
}
