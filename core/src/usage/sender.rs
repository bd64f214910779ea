//! One POST of a batch to the usage endpoint, and what its answer means for the batch.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};

use crate::config::Secret;
use crate::error::Result;
use crate::providers::http::{server_client, transport_error};
use crate::providers::retry_after::retry_after;
use crate::sdk_protocol::{USAGE_PATH, UsageAck};

/// How long one POST may take, answer included. Short enough that a stalled server sends
/// the batch to the spool well within a flush's time limit.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// What became of one POST.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 200 with an ack: the batch may be forgotten.
    Acked(UsageAck),
    /// A 4xx other than 408/429: the batch can never be accepted.
    Refused { status: u16, message: String },
    /// 5xx, 408, 429, a connection failure, an unreadable answer: keep it and try again
    /// (not before `after`, when the server said so).
    Retry {
        error: String,
        after: Option<Duration>,
    },
}

pub(crate) struct Sender {
    http: reqwest::Client,
    url: String,
    key: Secret,
}

impl Sender {
    pub fn new(base_url: &str, key: Secret) -> Result<Sender> {
        Ok(Sender {
            http: server_client()?,
            url: format!("{}{USAGE_PATH}", base_url.trim_end_matches('/')),
            key,
        })
    }

    pub async fn send(&self, body: Bytes) -> Outcome {
        let Some(key) = self.key.resolve() else {
            return Outcome::Retry {
                error: format!("no app key: {} is unset", self.key.masked()),
                after: None,
            };
        };
        let sent = self
            .http
            .post(&self.url)
            .header(AUTHORIZATION, format!("Bearer {key}"))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .timeout(SEND_TIMEOUT)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Outcome::Retry {
                    error: transport_error(error).to_string(),
                    after: None,
                };
            }
        };
        let status = response.status();
        let after = retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => {
                return Outcome::Retry {
                    error: transport_error(error).to_string(),
                    after: None,
                };
            }
        };
        classify(status, &body, after)
    }
}

fn classify(status: StatusCode, body: &[u8], after: Option<Duration>) -> Outcome {
    let message = || -> String {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
    };
    if status.is_success() {
        return match serde_json::from_slice::<UsageAck>(body) {
            Ok(ack) => Outcome::Acked(ack),
            Err(error) => Outcome::Retry {
                error: format!("the server answered {status} without a usage ack: {error}"),
                after: None,
            },
        };
    }
    let retryable = status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || !status.is_client_error();
    if retryable {
        Outcome::Retry {
            error: format!("usage endpoint {status}: {}", message()),
            after,
        }
    } else {
        Outcome::Refused {
            status: status.as_u16(),
            message: message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_final_4xx_refuses_a_batch() {
        let refused = |code: u16| {
            matches!(
                classify(StatusCode::from_u16(code).unwrap(), b"{}", None),
                Outcome::Refused { .. }
            )
        };
        assert!(refused(400) && refused(401) && refused(404) && refused(413));
        assert!(!refused(408) && !refused(429) && !refused(500) && !refused(503));
        // A 200 whose body is not an ack keeps the batch.
        assert!(matches!(
            classify(StatusCode::OK, b"ok", None),
            Outcome::Retry { .. }
        ));
    }
}
