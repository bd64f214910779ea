//! Long-poll fan-out benchmark: N SDK clients wait on `/sdk/v1/config`, one activation is
//! made, and we measure how long until every client has the new config.
//!
//! `fanout ADDR APP_KEY ADMIN_TOKEN N` (see `server/bench/run.sh`). Plain HTTP/1.1 over
//! TCP, so the measurement has no client library in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let etag = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("etag:")
                .then(|| l[5..].trim().trim_matches('"').to_owned())
        })
        .unwrap_or_default();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, etag, body)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (addr, key, admin, n) = (
        args[1].clone(),
        args[2].clone(),
        args[3].clone(),
        args[4].parse::<usize>().unwrap(),
    );
    let (status, etag, _) = http(&addr, "GET", "/sdk/v1/config", &key, None).await;
    assert_eq!(status, 200, "initial fetch");
    let mut waiters = Vec::with_capacity(n);
    for _ in 0..n {
        let (addr, key, etag) = (addr.clone(), key.clone(), etag.clone());
        waiters.push(tokio::spawn(async move {
            let (status, _, _) = http(
                &addr,
                "GET",
                &format!("/sdk/v1/config?wait=30&etag={etag}"),
                &key,
                None,
            )
            .await;
            (status, Instant::now())
        }));
    }
    // Let every request reach the server and park.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let doc = r#"{"document": {"version": 1, "providers": {"openai": {"kind": "openai"}}, "models": {"chat": {"deployments": [{"provider": "openai", "model": "gpt-4o", "weight": 7}]}}}}"#;
    let (status, _, body) = http(&addr, "POST", "/api/v1/configs", &admin, Some(doc)).await;
    assert_eq!(status, 201, "{body}");
    let id = body
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let start = Instant::now();
    let (status, _, body) = http(
        &addr,
        "POST",
        &format!("/api/v1/configs/{id}/activate"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut lat = Vec::with_capacity(n);
    let mut ok = 0;
    for w in waiters {
        let (status, at) = w.await.unwrap();
        if status == 200 {
            ok += 1;
        }
        lat.push(at.saturating_duration_since(start));
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    println!(
        "fan-out: {ok}/{n} clients got the new config; from activation: p50 {:?}, p99 {:?}, max {:?}",
        pct(0.5),
        pct(0.99),
        lat[lat.len() - 1]
    );
}
