//! `switchyard-mock-load`: a tiny keep-alive HTTP/1.1 load generator, so the mock's
//! throughput can be checked without installing external tools.
//!
//! It speaks just enough HTTP to POST a fixed body and read `content-length` responses.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USAGE: &str = "usage: switchyard-mock-load --addr 127.0.0.1:PORT [--path /v1/chat/completions] \
[--connections 64] [--duration-secs 5] [--requests N] [--body JSON]";

const DEFAULT_BODY: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello to the load test"}]}"#;

struct Args {
    addr: SocketAddr,
    path: String,
    connections: usize,
    duration: Duration,
    requests: u64,
    body: String,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = None;
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        path: "/v1/chat/completions".into(),
        connections: 64,
        duration: Duration::from_secs(5),
        requests: u64::MAX,
        body: DEFAULT_BODY.into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag}: {e}");
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().map_err(|e| bad(&e))?),
            "--path" => args.path = value,
            "--connections" => args.connections = value.parse().map_err(|e| bad(&e))?,
            "--duration-secs" => {
                args.duration = Duration::from_secs_f64(value.parse().map_err(|e| bad(&e))?)
            }
            "--requests" => args.requests = value.parse().map_err(|e| bad(&e))?,
            "--body" => args.body = value,
            _ => return Err(format!("unknown argument {flag:?}\n{USAGE}")),
        }
    }
    args.addr = addr.ok_or_else(|| format!("--addr is required\n{USAGE}"))?;
    if args.connections == 0 {
        return Err("--connections must be at least 1".into());
    }
    Ok(args)
}

#[derive(Default)]
struct ConnResult {
    latencies_us: Vec<u32>,
    errors: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\nauthorization: Bearer sk-load\r\ncontent-length: {}\r\n\r\n{}",
        args.path,
        args.addr,
        args.body.len(),
        args.body
    );
    let request: Arc<[u8]> = Arc::from(request.into_bytes());
    let budget = Arc::new(AtomicU64::new(args.requests));
    let start = Instant::now();
    let deadline = start + args.duration;
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            tokio::spawn(connection(
                args.addr,
                Arc::clone(&request),
                Arc::clone(&budget),
                deadline,
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        match t.await {
            Ok(r) => {
                latencies.extend(r.latencies_us);
                errors += r.errors;
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies[i]) / 1000.0
    };
    println!(
        "connections={} requests={} errors={} elapsed={:.2}s requests/s={:.0} p50={:.3}ms p99={:.3}ms",
        args.connections,
        latencies.len(),
        errors,
        elapsed,
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    if latencies.is_empty() || errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn connection(
    addr: SocketAddr,
    request: Arc<[u8]>,
    budget: Arc<AtomicU64>,
    deadline: Instant,
) -> ConnResult {
    let mut result = ConnResult::default();
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(_) => {
            result.errors += 1;
            return result;
        }
    };
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    while Instant::now() < deadline {
        let take = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if take.is_err() {
            break;
        }
        let sent = Instant::now();
        match round_trip(&mut stream, &request, &mut buf).await {
            Ok(200) => {
                let us = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                result.latencies_us.push(us);
            }
            Ok(_) => result.errors += 1,
            Err(_) => {
                result.errors += 1;
                break;
            }
        }
    }
    result
}

/// Send one request and read one `content-length` response; returns the status.
async fn round_trip(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    stream.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(head_end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| std::io::Error::other("bad status line"))?;
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other("response without content-length"))?;
            let total = head_end + 4 + len;
            while buf.len() < total {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
