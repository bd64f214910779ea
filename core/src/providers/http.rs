//! The one HTTP client every provider shares, and the send/receive steps they all take:
//! per-attempt timeouts, transport errors classified, error bodies mapped, context attached.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;

use super::Target;
use crate::config::Secret;
use crate::error::{Error, ErrorKind, Result};
use crate::process::PerProcess;

/// Connection behaviour of the shared client. Per-attempt and total limits are per call.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 256,
        }
    }
}

/// The pool, one per process (see [`PerProcess`]): a forked child's requests on its
/// parent's connections would wait on runtime threads that did not survive the fork.
static SHARED: PerProcess<reqwest::Client> = PerProcess::new();

/// The process-wide pooled client: rustls, HTTP/2 when the server offers it by ALPN,
/// `HTTP(S)_PROXY`/`NO_PROXY` honoured (reqwest reads them). Taken when a config is
/// loaded, not per call; a process forked since gets a pool of its own.
pub fn shared_client() -> Result<reqwest::Client> {
    SHARED.get_or_try_init(|| build_client(&HttpSettings::default()))
}

pub fn build_client(settings: &HttpSettings) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(settings.pool_idle_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle_per_host)
        .tcp_nodelay(true)
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::network(format!("cannot build the HTTP client: {e}")))
}

/// A client of its own for the management server (config long-poll, usage shipping): one
/// idle connection is all it needs, and it stays out of the providers' pool.
pub fn server_client() -> Result<reqwest::Client> {
    build_client(&HttpSettings {
        pool_max_idle_per_host: 1,
        ..HttpSettings::default()
    })
}

/// The key to send, if one is configured. A key configured as `${VAR}` with `VAR` unset
/// is an `auth` error raised here, before any request leaves the process: sending the
/// request without it would only earn a 401, and the route can fall back at once.
pub fn credential(provider: &str, secret: Option<&Secret>) -> Result<Option<String>> {
    let Some(secret) = secret else {
        return Ok(None);
    };
    match secret.resolve() {
        Some(key) => Ok(Some(key)),
        None => Err(Error::new(
            ErrorKind::Auth,
            format!(
                "the API key comes from {}, which is not set or empty",
                secret.masked()
            ),
        )
        .with_provider(provider)),
    }
}

/// The config's extra headers, sent with every request. Their values may hold resolved
/// `${VAR}` tokens, so `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct ExtraHeaders(Vec<(String, String)>);

impl ExtraHeaders {
    pub fn new(headers: &std::collections::BTreeMap<String, String>) -> Self {
        ExtraHeaders(
            headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// `builder` with every header added.
    pub fn apply(&self, builder: RequestBuilder) -> RequestBuilder {
        self.0.iter().fold(builder, |b, (name, value)| {
            b.header(name.as_str(), value.as_str())
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Debug for ExtraHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// Maps a non-2xx answer (status, headers, body) to the taxonomy, per provider.
pub type ErrorMapper = fn(u16, &HeaderMap, &[u8]) -> Error;

/// Largest error body we read; real ones are a few hundred bytes.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// One attempt against one deployment: knows where errors came from.
pub struct Exchange<'a> {
    pub provider: &'a str,
    pub target: &'a Target<'a>,
    pub map_error: ErrorMapper,
    pub request_id_header: &'static str,
}

impl Exchange<'_> {
    /// Sends and decodes a whole JSON answer within the attempt timeout.
    pub async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        let request = match self.target.timeout {
            Some(limit) => request.timeout(limit),
            None => request,
        };
        let response = self.send(request).await?;
        let status = response.status().as_u16();
        let request_id = self.request_id(response.headers());
        let body: Bytes = response
            .bytes()
            .await
            .map_err(|e| self.context(transport_error(e), None))?;
        serde_json::from_slice(&body).map_err(|e| {
            self.context(
                Error::malformed(status, format!("unreadable response body: {e}")),
                request_id,
            )
        })
    }

    /// Sends a streaming request; the attempt timeout bounds the wait for the headers.
    pub async fn stream(&self, request: RequestBuilder) -> Result<Response> {
        match self.target.timeout {
            Some(limit) => tokio::time::timeout(limit, self.send(request))
                .await
                .map_err(|_| {
                    self.context(
                        Error::timeout("no response headers within the attempt timeout"),
                        None,
                    )
                })?,
            None => self.send(request).await,
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request
            .send()
            .await
            .map_err(|e| self.context(transport_error(e), None))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_capped(response, MAX_ERROR_BODY).await;
        let request_id = self.request_id(&headers);
        let error = (self.map_error)(status, &headers, &body)
            .with_http_status(status)
            .with_message_redacted();
        Err(self.context(error, request_id))
    }

    pub fn request_id(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get(self.request_id_header)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Attaches provider, deployment and request id to an error from this attempt.
    pub fn context(&self, error: Error, request_id: Option<String>) -> Error {
        error
            .with_provider(self.provider)
            .with_deployment(self.target.deployment)
            .with_request_id(request_id)
    }
}

async fn read_capped(mut response: Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk[..chunk.len().min(cap - body.len())]);
        if body.len() >= cap {
            break;
        }
    }
    body
}

/// Classifies a reqwest failure: our timeout, or a broken/refused connection.
pub fn transport_error(error: reqwest::Error) -> Error {
    if error.is_timeout() {
        return Error::timeout(format!("the attempt timed out: {error}"));
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::new(ErrorKind::Network, message)
}
