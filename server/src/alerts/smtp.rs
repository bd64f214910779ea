//! A minimal SMTP client for email channels: EHLO, AUTH PLAIN when the channel names a
//! user, one message in plain text, QUIT. Written here rather than taking `lettre`, whose
//! dependency tree (and TLS features) would grow the build for one message a rule change.
//! No TLS: point a channel at a relay on a trusted network (docs/alerts.md).

use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One plain-text message.
pub struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub subject: &'a str,
    pub body: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP URL: {0}")]
    Url(String),
    #[error("SMTP I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("SMTP server answered {code} to {command}: {text}")]
    Reply {
        command: &'static str,
        code: u16,
        text: String,
    },
    #[error("SMTP server did not answer within {0:?}")]
    Timeout(Duration),
}

/// `smtp://[user@]host[:port]`: (user, host, port), port 25 by default.
fn parse_url(url: &str) -> Result<(Option<String>, String, u16), SmtpError> {
    let rest = url
        .strip_prefix("smtp://")
        .ok_or_else(|| SmtpError::Url("must start with smtp://".into()))?;
    let rest = rest.trim_end_matches('/');
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(crate::util::percent_decode(u)), h),
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .map_err(|_| SmtpError::Url(format!("bad port {p}")))?,
        ),
        None => (hostport, 25),
    };
    if host.is_empty() {
        return Err(SmtpError::Url("no host".into()));
    }
    Ok((user, host.to_owned(), port))
}

/// The message as DATA sends it: headers, CRLF line ends, leading dots doubled.
fn message(mail: &Mail<'_>) -> String {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let mut out = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
        clean(mail.from),
        clean(&mail.to.join(", ")),
        clean(mail.subject)
    );
    for line in mail.body.lines() {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

struct Session {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Session {
    /// Reads one (possibly multi-line) reply; fails unless its code is in `ok`.
    async fn expect(&mut self, command: &'static str, ok: &[u16]) -> Result<(), SmtpError> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err(SmtpError::Reply {
                    command,
                    code: 0,
                    text: "connection closed".into(),
                });
            }
            text.push_str(line.trim_end());
            // `250-more` continues; `250 last` ends.
            if line.as_bytes().get(3) != Some(&b'-') {
                let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                if ok.contains(&code) {
                    return Ok(());
                }
                return Err(SmtpError::Reply {
                    command,
                    code,
                    text,
                });
            }
            text.push(' ');
        }
    }

    async fn command(
        &mut self,
        name: &'static str,
        line: &str,
        ok: &[u16],
    ) -> Result<(), SmtpError> {
        // One write per command: split, Nagle holds the second part for the server's ACK.
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await?;
        self.expect(name, ok).await
    }
}

/// Sends `mail` through the server at `url`, authenticating as the URL's user with
/// `password` when it names one.
pub async fn send(
    url: &str,
    password: Option<&str>,
    mail: &Mail<'_>,
    timeout: Duration,
) -> Result<(), SmtpError> {
    tokio::time::timeout(timeout, exchange(url, password, mail))
        .await
        .map_err(|_| SmtpError::Timeout(timeout))?
}

async fn exchange(url: &str, password: Option<&str>, mail: &Mail<'_>) -> Result<(), SmtpError> {
    let (user, host, port) = parse_url(url)?;
    let stream = TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    let (read, writer) = stream.into_split();
    let mut s = Session {
        reader: BufReader::new(read),
        writer,
    };
    s.expect("greeting", &[220]).await?;
    s.command("EHLO", "EHLO switchyard", &[250]).await?;
    if let Some(user) = user {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("\0{user}\0{}", password.unwrap_or_default()));
        s.command("AUTH", &format!("AUTH PLAIN {token}"), &[235])
            .await?;
    }
    s.command("MAIL", &format!("MAIL FROM:<{}>", mail.from), &[250])
        .await?;
    for to in mail.to {
        s.command("RCPT", &format!("RCPT TO:<{to}>"), &[250, 251])
            .await?;
    }
    s.command("DATA", "DATA", &[354]).await?;
    s.writer.write_all(message(mail).as_bytes()).await?;
    s.command("end of data", ".", &[250]).await?;
    // The message is accepted: a failed QUIT changes nothing.
    let _ = s.command("QUIT", "QUIT", &[221]).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_user_host_and_port() {
        assert_eq!(
            parse_url("smtp://alerts%40acme@mail.internal:2525").unwrap(),
            (Some("alerts@acme".into()), "mail.internal".into(), 2525)
        );
        assert_eq!(
            parse_url("smtp://relay").unwrap(),
            (None, "relay".into(), 25)
        );
        assert!(parse_url("http://relay").is_err());
        assert!(parse_url("smtp://relay:x").is_err());
    }

    #[test]
    fn the_message_has_crlf_lines_and_doubled_leading_dots() {
        let to = ["a@x".to_owned(), "b@y".to_owned()];
        let m = message(&Mail {
            from: "s@x",
            to: &to,
            subject: "hi\r\nBcc: evil@z",
            body: "one\n.two",
        });
        assert!(m.contains("Subject: hi  Bcc: evil@z\r\n"), "{m}");
        assert!(m.contains("To: a@x, b@y\r\n"));
        assert!(m.ends_with("\r\n\r\none\r\n..two\r\n"), "{m:?}");
    }
}
