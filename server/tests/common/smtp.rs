//! A local SMTP receiver for the email channel's tests: accepts every message, records
//! its envelope, the AUTH PLAIN credentials it was given, and the DATA.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// `user:password` from AUTH PLAIN, if any.
    pub auth: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<(Mail, Instant)>>>,
    pub task: tokio::task::JoinHandle<()>,
}

pub async fn sink() -> SmtpSink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Arc<Mutex<Vec<(Mail, Instant)>>> = Arc::default();
    let store = mails.clone();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.unwrap();
                let mut mail = Mail::default();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250 AUTH PLAIN\r\n"
                    } else if let Some(token) = line.strip_prefix("AUTH PLAIN ") {
                        let raw = base64::engine::general_purpose::STANDARD
                            .decode(token)
                            .unwrap();
                        let parts: Vec<String> = raw
                            .split(|b| *b == 0)
                            .map(|p| String::from_utf8_lossy(p).into_owned())
                            .collect();
                        mail.auth = Some(format!("{}:{}", parts[1], parts[2]));
                        b"235 ok\r\n"
                    } else if let Some(a) = upper.strip_prefix("MAIL FROM:") {
                        mail.from = line[10..10 + a.len()].trim_matches(['<', '>']).to_owned();
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        mail.to.push(line[8..].trim_matches(['<', '>']).to_owned());
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            mail.data.push_str(&l);
                            mail.data.push('\n');
                        }
                        store
                            .lock()
                            .unwrap()
                            .push((std::mem::take(&mut mail), Instant::now()));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"500 what\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    SmtpSink { port, mails, task }
}
