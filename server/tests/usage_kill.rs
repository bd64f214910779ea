//! The real server binary killed with SIGKILL while a client posts usage batches and
//! retries every batch not acknowledged (as the SDK does), then restarted on the same
//! database: every event is stored exactly once, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::usage::{T0, batch_of, totals};

/// `POST path` with `body`; the status and body, or `None` when the connection failed.
fn post(addr: &str, path: &str, key: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

fn start(db: &str, addr: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .env("SWITCHYARD_DATABASE_URL", db)
        // The events are dated November 2026: keep them inside the retention period.
        .args(["serve", "--listen", addr, "--usage-retention-days", "36500"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_server_loses_and_doubles_nothing() {
    for (backend, db) in common::databases().await {
        let store = common::store(&db).await;
        let boot = store
            .bootstrap(&common::ctx(), "acme", "admin", "x")
            .await
            .unwrap();
        let t = store.tenant(&boot.tenant.id);
        let root = t.list_departments(Default::default()).await.unwrap()[0]
            .id
            .clone();
        let (_, key) = common::app_with_key(&store, &boot.tenant.id, &root, "a").await;

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut child = start(&db, &addr);

        const BATCHES: usize = 60;
        const PER_BATCH: usize = 200;
        let acked = Arc::new(AtomicUsize::new(0));
        let client = {
            let (addr, key, acked) = (addr.clone(), key.clone(), acked.clone());
            std::thread::spawn(move || {
                let (mut accepted, mut duplicates, mut retries) = (0u64, 0u64, 0u64);
                for b in 0..BATCHES {
                    let events = batch_of(PER_BATCH, T0 + b as i64 * 1000);
                    let body = serde_json::json!({"events": events})
                        .to_string()
                        .into_bytes();
                    let deadline = Instant::now() + Duration::from_secs(60);
                    loop {
                        assert!(Instant::now() < deadline, "batch {b} never acknowledged");
                        match post(&addr, "/sdk/v1/usage", &key, &body) {
                            Some((200, ack)) => {
                                let ack: serde_json::Value = serde_json::from_str(&ack).unwrap();
                                accepted += ack["accepted"].as_u64().unwrap();
                                duplicates += ack["duplicates"].as_u64().unwrap();
                                break;
                            }
                            Some((status, body)) if status < 500 && status != 429 => {
                                panic!("batch {b}: {status} {body}")
                            }
                            _ => {
                                retries += 1;
                                std::thread::sleep(Duration::from_millis(20));
                            }
                        }
                    }
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                (accepted, duplicates, retries)
            })
        };
        // Kill it four times mid-stream, at a random moment of a batch's request (so some
        // kills land between the commit and the ack), restarting on the same database.
        let mut kills = 0;
        for at in [
            BATCHES / 5,
            2 * BATCHES / 5,
            3 * BATCHES / 5,
            4 * BATCHES / 5,
        ] {
            while acked.load(Ordering::SeqCst) < at {
                std::thread::sleep(Duration::from_millis(1));
            }
            let jitter = u64::from_str_radix(&switchyard_server::util::random_hex(2), 16).unwrap();
            std::thread::sleep(Duration::from_micros(jitter * 100));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            std::thread::sleep(Duration::from_millis(100));
            child = start(&db, &addr);
        }
        let (accepted, duplicates, retries) = client.join().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();

        let n = (BATCHES * PER_BATCH) as i64;
        let (raw, calls, _, hist) = totals(&store).await;
        eprintln!(
            "{backend}: {kills} kills, {retries} retries, acks: {accepted} accepted + {duplicates} duplicates"
        );
        assert_eq!((raw, calls, hist), (n, n, n), "{backend}: sent {n}");
        // An event is acknowledged as accepted at most once; one whose ack was lost to the
        // kill comes back as a duplicate of the stored one.
        assert!(
            accepted <= n as u64 && accepted + duplicates >= n as u64,
            "{backend}"
        );
        let (raw_sums, rolled) = common::usage::rollups_vs_raw(&store).await;
        assert_eq!(raw_sums, rolled, "{backend}");
    }
}
