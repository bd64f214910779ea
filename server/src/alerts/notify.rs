//! Delivering a notification to a channel: a webhook gets the JSON body signed with
//! HMAC-SHA256, a Slack-compatible incoming webhook gets Slack's `{"text": …}`, an email
//! channel a plain-text message over SMTP. Failed attempts are retried with exponential
//! backoff; every attempt lands in the delivery log.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::smtp::{self, Mail};
use crate::crypto::MasterKey;
use crate::store::{AlertChannel, AlertDelivery, Store};
use crate::util::{new_id, now_ms};

/// The header carrying `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`.
pub const SIGNATURE_HEADER: &str = "x-switchyard-signature";
/// The header carrying the Unix milliseconds the signature covers (replay protection).
pub const TIMESTAMP_HEADER: &str = "x-switchyard-timestamp";

/// One subject of a notification.
#[derive(Debug, Clone, Serialize)]
pub struct AlertItem {
    pub subject: String,
    pub value: f64,
    pub since: i64,
    /// What the rule's action did for this subject, when it started firing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// What a webhook receives: one rule's alerts that changed together, grouped.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub tenant_id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub kind: String,
    /// `firing` or `resolved`.
    pub status: &'static str,
    pub alerts: Vec<AlertItem>,
    pub sent_at: i64,
}

/// Retry policy and the HTTP client deliveries share.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    key: Option<Arc<MasterKey>>,
    client: reqwest::Client,
    attempts: u32,
    backoff: Duration,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("{0}")]
    Transport(String),
}

/// A successful attempt: the HTTP status, none for email.
type Sent = Option<u16>;

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: the error arm is never taken.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The human-readable form (Slack's text, an email's body): a title line, one line per alert.
fn summary(n: &Notification) -> String {
    let mut text = format!("[{}] {} ({})", n.status.to_uppercase(), n.rule_name, n.kind);
    for a in &n.alerts {
        let subject = if a.subject.is_empty() {
            "tenant"
        } else {
            &a.subject
        };
        text.push_str(&format!("\n• {subject}: {:.4}", a.value));
        if let Some(action) = &a.action {
            text.push_str(&format!(" ({action})"));
        }
    }
    text
}

impl Notifier {
    pub fn new(
        store: Store,
        key: Option<Arc<MasterKey>>,
        attempts: u32,
        backoff: Duration,
        timeout: Duration,
    ) -> Notifier {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Notifier {
            store,
            key,
            client,
            attempts: attempts.max(1),
            backoff,
            timeout,
        }
    }

    /// Delivers in the background, so a slow channel never holds up evaluation.
    pub fn spawn(&self, channel_id: String, n: Notification) {
        let this = self.clone();
        tokio::spawn(async move { this.deliver(&channel_id, n).await });
    }

    /// Tries up to `attempts` times, waiting `backoff`, 2×, 4×… between attempts.
    pub async fn deliver(&self, channel_id: &str, n: Notification) {
        let tenant = self.store.tenant(&n.tenant_id);
        let (channel, secret) = match tenant
            .alert_channel_for_delivery(self.key.as_deref(), channel_id)
            .await
        {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, rule = n.rule_id, "alert channel unavailable");
                let failed = Err(SendError::Transport(error.to_string()));
                self.log(channel_id, &n, 1, failed).await;
                return;
            }
        };
        for attempt in 1..=self.attempts {
            let outcome = self.send(&channel, secret.as_deref(), &n).await;
            let ok = outcome.is_ok();
            if let Err(error) = &outcome {
                tracing::warn!(%error, attempt, rule = n.rule_id, channel = channel.id, "alert delivery failed");
            }
            self.log(channel_id, &n, attempt, outcome).await;
            if ok {
                return;
            }
            if attempt < self.attempts {
                tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
        }
    }

    async fn send(
        &self,
        channel: &AlertChannel,
        secret: Option<&str>,
        n: &Notification,
    ) -> Result<Sent, SendError> {
        let body = match channel.kind.as_str() {
            "email" => return self.email(channel, secret, n).await,
            "slack" => serde_json::json!({ "text": summary(n) }),
            _ => serde_json::to_value(n).unwrap_or_default(),
        };
        let body = body.to_string().into_bytes();
        let timestamp = now_ms();
        let mut request = self
            .client
            .post(&channel.url)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string());
        if let Some(secret) = secret {
            request = request.header(SIGNATURE_HEADER, sign(secret, timestamp, &body));
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            Ok(Some(status))
        } else {
            Err(SendError::Status(status))
        }
    }

    async fn email(
        &self,
        channel: &AlertChannel,
        password: Option<&str>,
        n: &Notification,
    ) -> Result<Sent, SendError> {
        let text = summary(n);
        let subject = text.lines().next().unwrap_or_default();
        let mail = Mail {
            from: channel.email_from.as_deref().unwrap_or_default(),
            to: channel.email_to.as_deref().unwrap_or_default(),
            subject,
            body: &text,
        };
        smtp::send(&channel.url, password, &mail, self.timeout)
            .await
            .map_err(|e| SendError::Transport(e.to_string()))?;
        Ok(None)
    }

    async fn log(
        &self,
        channel_id: &str,
        n: &Notification,
        attempt: u32,
        outcome: Result<Sent, SendError>,
    ) {
        let subjects: Vec<&str> = n.alerts.iter().map(|a| a.subject.as_str()).collect();
        let (ok, http_status, error) = match outcome {
            Ok(status) => (true, status.map(i64::from), None),
            Err(SendError::Status(status)) => (
                false,
                Some(i64::from(status)),
                Some(format!("HTTP {status}")),
            ),
            Err(e) => (false, None, Some(e.to_string())),
        };
        let delivery = AlertDelivery {
            id: new_id("dlv"),
            rule_id: n.rule_id.clone(),
            channel_id: channel_id.to_owned(),
            subject: subjects.join(","),
            status: n.status.to_owned(),
            attempt: i64::from(attempt),
            ok,
            http_status,
            error,
            at: now_ms(),
        };
        if let Err(error) = self
            .store
            .tenant(&n.tenant_id)
            .log_alert_delivery(&delivery)
            .await
        {
            tracing::warn!(%error, rule = n.rule_id, "alert delivery not logged");
        }
    }
}
