//! An OTLP/HTTP collector stand-in for the export tests: a capture server on loopback.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Each request received: its lowercased head and its body.
pub type Captured = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Accepts HTTP/1.1 requests one connection at a time and keeps each. Returns the base
/// URL (no path) and what it received.
pub fn capture_server() -> (String, Captured) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                buffer.extend_from_slice(&chunk[..n]);
                let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buffer.len() < end + 4 + length {
                    let n = stream.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                }
                break (head, buffer[end + 4..].to_vec());
            };
            // Kept before answering, so an exporter that has its answer finds it stored.
            store.lock().unwrap().push((head, body));
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                .ok();
        }
    });
    (url, seen)
}

/// Waits (up to 10 s) until a request to `path` has arrived, and returns the bodies sent there.
pub fn bodies_for(seen: &Captured, path: &str) -> Vec<Vec<u8>> {
    let line = format!("post {path} ");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let bodies: Vec<Vec<u8>> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(head, _)| head.starts_with(&line))
            .map(|(_, body)| body.clone())
            .collect();
        if !bodies.is_empty() || std::time::Instant::now() >= deadline {
            return bodies;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether any of `bodies` holds `needle` (protobuf keeps strings as they are).
pub fn holds(bodies: &[Vec<u8>], needle: &str) -> bool {
    let needle = needle.as_bytes();
    bodies
        .iter()
        .any(|b| b.windows(needle.len()).any(|w| w == needle))
}

/// Fails naming the first of `needles` that none of `bodies` holds.
pub fn assert_holds(bodies: &[Vec<u8>], needles: &[&str]) {
    for needle in needles {
        assert!(holds(bodies, needle), "the export lacks {needle}");
    }
}
