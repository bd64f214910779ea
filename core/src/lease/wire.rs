//! One lease request or return over HTTP, and what its answer means for the renewer.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;

use super::transport::{LeaseAnswer as Answer, LeaseTransport};
use crate::config::Secret;
use crate::error::Result;
use crate::providers::http::{server_client, transport_error};
use crate::providers::retry_after::retry_after;
use crate::sdk_protocol::{LEASE_RETURN_PATH, LEASES_PATH, LeaseGrant, LeaseRequest, LeaseReturn};

/// How long one request may take: a stalled server must not hold a renewal past expiry.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct LeaseSender {
    http: reqwest::Client,
    base: String,
    key: Secret,
}

impl LeaseSender {
    pub fn new(base_url: &str, key: Secret) -> Result<LeaseSender> {
        Ok(LeaseSender {
            http: server_client()?,
            base: base_url.trim_end_matches('/').to_owned(),
            key,
        })
    }

    fn post(&self, path: &str) -> std::result::Result<reqwest::RequestBuilder, String> {
        let key = self
            .key
            .resolve()
            .ok_or_else(|| format!("no app key: {} is unset", self.key.masked()))?;
        Ok(self
            .http
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {key}"))
            .timeout(SEND_TIMEOUT))
    }
}

#[async_trait::async_trait]
impl LeaseTransport for LeaseSender {
    async fn acquire(&self, request: &LeaseRequest) -> Answer {
        let post = match self.post(LEASES_PATH) {
            Ok(post) => post,
            Err(error) => return Answer::Retry { error, after: None },
        };
        let response = match post.json(request).send().await {
            Ok(response) => response,
            Err(error) => {
                return Answer::Retry {
                    error: transport_error(error).to_string(),
                    after: None,
                };
            }
        };
        let status = response.status();
        let after = retry_after(response.headers());
        match status {
            StatusCode::OK => match response.json::<LeaseGrant>().await {
                Ok(grant) => Answer::Granted(grant),
                Err(error) => Answer::Retry {
                    error: format!("the lease answer cannot be read: {error}"),
                    after: None,
                },
            },
            StatusCode::GONE => Answer::Gone,
            StatusCode::NOT_FOUND if request.lease.is_some() => Answer::Gone,
            StatusCode::NOT_FOUND => Answer::NoLeases,
            _ => {
                let body = response.text().await.unwrap_or_default();
                Answer::Retry {
                    error: format!(
                        "lease endpoint {status}: {}",
                        body.chars().take(200).collect::<String>()
                    ),
                    after,
                }
            }
        }
    }

    async fn give_back(&self, lease: &str, used: &LeaseReturn) -> bool {
        let path = LEASE_RETURN_PATH.replace("{id}", lease);
        let post = match self.post(&path) {
            Ok(post) => post,
            Err(error) => {
                tracing::warn!(%error, "cannot return the lease");
                return false;
            }
        };
        match post.json(used).send().await {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(status = %response.status(), "the server refused the lease's return");
                false
            }
            Err(error) => {
                tracing::warn!(error = %transport_error(error), "cannot return the lease; it expires on its own");
                false
            }
        }
    }
}
