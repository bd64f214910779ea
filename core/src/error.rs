//! One error taxonomy for every provider and every step of the pipeline.
//!
//! Bindings map [`ErrorKind`] to their own exception/error types by [`Error::code`], so the
//! codes are part of the public contract: add kinds, never rename them.

use std::fmt;
use std::time::Duration;

/// What went wrong, independent of which provider said it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The provider throttled us; `retry_after` is what it asked us to wait, if it said.
    RateLimited { retry_after: Option<Duration> },
    /// The prompt (plus requested output) does not fit the model's context window.
    ContextWindowExceeded,
    /// The provider refused the input or the output on policy grounds.
    ContentPolicy,
    /// An attempt or the whole call ran past its time limit.
    Timeout,
    /// The provider failed in a way not covered above, with the HTTP status it sent.
    /// A 2xx status means the body could not be understood.
    Upstream { status: u16 },
    /// The credentials were missing, wrong, or not allowed to do this.
    Auth,
    /// The request is invalid; `field` names the offending field where known.
    BadRequest { field: Option<String> },
    /// The connection failed, was reset, or a stream ended before its terminal event.
    Network,
    /// The caller gave up on the call.
    Canceled,
    /// A hard budget would be overspent by this call.
    BudgetExceeded { budget: String },
    /// A server-side budget or limit cannot be checked: its lease expired while the
    /// management server was unreachable, and its policy for that case is to deny.
    BudgetUnavailable { budget: String },
    /// No deployment can take the call now: every circuit is open or cooling down.
    Unavailable,
    /// An in-process resource (the local model's context pool) is full.
    Overloaded,
    /// The configuration is invalid; `path` names where.
    Config { path: String },
    /// A fault inside Switchyard itself (a panic caught at a binding's edge): a bug to report.
    Internal,
    /// The request broke a guardrail (a deny pattern, a topic rule, the model allow-list);
    /// `rule` names it. Refused before anything left the process.
    PolicyViolation { rule: String },
}

impl ErrorKind {
    /// The stable, snake_case name bindings and the wire use.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::RateLimited { .. } => "rate_limited",
            ErrorKind::ContextWindowExceeded => "context_window_exceeded",
            ErrorKind::ContentPolicy => "content_policy",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Upstream { .. } => "upstream",
            ErrorKind::Auth => "auth",
            ErrorKind::BadRequest { .. } => "bad_request",
            ErrorKind::Network => "network",
            ErrorKind::Canceled => "canceled",
            ErrorKind::BudgetExceeded { .. } => "budget_exceeded",
            ErrorKind::BudgetUnavailable { .. } => "budget_unavailable",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Config { .. } => "config",
            ErrorKind::Internal => "internal",
            ErrorKind::PolicyViolation { .. } => "policy_violation",
        }
    }
}

/// A failed call: the kind, a human message, and where it happened. Boxed, so a
/// `Result` costs one pointer on the success path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    kind: ErrorKind,
    message: String,
    provider: Option<String>,
    deployment: Option<String>,
    request_id: Option<String>,
    /// The status of the provider's HTTP answer, when the error is one.
    http_status: Option<u16>,
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Details {
            kind,
            message: message.into(),
            provider: None,
            deployment: None,
            request_id: None,
            http_status: None,
        }))
    }

    /// A `bad_request` naming the offending field, raised before any network call.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::BadRequest {
                field: Some(field.into()),
            },
            message,
        )
    }

    pub fn network(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Network, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn canceled() -> Self {
        Self::new(ErrorKind::Canceled, "the call was canceled")
    }

    /// The provider answered 2xx with a body we could not understand.
    pub fn malformed(status: u16, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream { status }, message)
    }

    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.0.provider = Some(provider.into());
        self
    }

    pub fn with_deployment(mut self, deployment: impl Into<String>) -> Self {
        self.0.deployment = Some(deployment.into());
        self
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        if request_id.is_some() {
            self.0.request_id = request_id;
        }
        self
    }

    /// Masks PII in the message (`crate::redact`): a provider's error text may quote the
    /// request, and messages reach logs, usage records and call logs.
    pub fn with_message_redacted(mut self) -> Self {
        if let std::borrow::Cow::Owned(masked) = crate::redact::redact(&self.0.message) {
            self.0.message = masked;
        }
        self
    }

    /// Records the status of the provider's error answer: the kind says what it means,
    /// this keeps the code itself (a 403 and a 401 are both `auth`), for bindings whose
    /// callers catch errors by status.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.0.http_status = Some(status);
        self
    }

    /// The status of the provider's error answer, when the error is one.
    pub fn http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    pub fn code(&self) -> &'static str {
        self.0.kind.code()
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }

    pub fn deployment(&self) -> Option<&str> {
        self.0.deployment.as_deref()
    }

    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// The HTTP status the provider sent, where one explains the error.
    pub fn status(&self) -> Option<u16> {
        match self.0.kind {
            ErrorKind::Upstream { status } => Some(status),
            ErrorKind::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// How long the provider asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.0.kind {
            ErrorKind::RateLimited { retry_after } => retry_after,
            _ => None,
        }
    }

    /// The guardrail a `policy_violation` names.
    pub fn rule(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::PolicyViolation { rule } => Some(rule),
            _ => None,
        }
    }

    /// A `policy_violation` of the guardrail `rule`.
    pub fn policy_violation(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PolicyViolation { rule: rule.into() }, message)
    }

    /// The field a `bad_request` (or the path a `config` error) names.
    pub fn field(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::BadRequest { field } => field.as_deref(),
            ErrorKind::Config { path } => Some(path),
            _ => None,
        }
    }

    /// Whether the same request may succeed if sent again (here or to another deployment).
    ///
    /// Server errors, 408/409, unreadable 2xx bodies, throttling, timeouts and broken
    /// connections are transient; everything the caller or its input caused is not.
    pub fn is_retryable(&self) -> bool {
        match self.0.kind {
            ErrorKind::RateLimited { .. }
            | ErrorKind::Timeout
            | ErrorKind::Network
            | ErrorKind::Unavailable
            | ErrorKind::BudgetUnavailable { .. }
            | ErrorKind::Overloaded => true,
            ErrorKind::Upstream { status } => {
                status >= 500 || status == 408 || status == 409 || (200..300).contains(&status)
            }
            ErrorKind::ContextWindowExceeded
            | ErrorKind::ContentPolicy
            | ErrorKind::Auth
            | ErrorKind::BadRequest { .. }
            | ErrorKind::Canceled
            | ErrorKind::BudgetExceeded { .. }
            | ErrorKind::Config { .. }
            | ErrorKind::Internal
            | ErrorKind::PolicyViolation { .. } => false,
        }
    }
}

impl From<crate::config::ConfigError> for Error {
    fn from(error: crate::config::ConfigError) -> Self {
        Error::new(
            ErrorKind::Config {
                path: error.first_path().to_owned(),
            },
            error.to_string(),
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.kind.code())?;
        match &self.0.kind {
            ErrorKind::Upstream { status } => write!(f, " (HTTP {status})")?,
            ErrorKind::BadRequest { field: Some(field) } => write!(f, " ({field})")?,
            ErrorKind::BudgetExceeded { budget } | ErrorKind::BudgetUnavailable { budget } => {
                write!(f, " ({budget})")?
            }
            ErrorKind::Config { path } if !path.is_empty() => write!(f, " ({path})")?,
            ErrorKind::PolicyViolation { rule } => write!(f, " ({rule})")?,
            ErrorKind::RateLimited {
                retry_after: Some(after),
            } => write!(f, " (retry after {:.3}s)", after.as_secs_f64())?,
            _ => {}
        }
        write!(f, ": {}", self.0.message)?;
        if let Some(deployment) = &self.0.deployment {
            write!(f, " [deployment {deployment}]")?;
        } else if let Some(provider) = &self.0.provider {
            write!(f, " [provider {provider}]")?;
        }
        if let Some(id) = &self.0.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds() {
        let upstream = |status| Error::new(ErrorKind::Upstream { status }, "x");
        assert!(upstream(500).is_retryable());
        assert!(upstream(503).is_retryable());
        assert!(upstream(529).is_retryable());
        assert!(upstream(408).is_retryable());
        assert!(upstream(200).is_retryable());
        assert!(!upstream(404).is_retryable());
        assert!(Error::network("reset").is_retryable());
        assert!(!Error::bad_request("messages", "empty").is_retryable());
        assert!(!Error::new(ErrorKind::Auth, "no").is_retryable());
        assert!(!Error::canceled().is_retryable());
    }

    #[test]
    fn display_names_kind_field_and_deployment() {
        let e = Error::bad_request("messages[0].role", "unknown role").with_deployment("gpt-a");
        assert_eq!(
            e.to_string(),
            "bad_request (messages[0].role): unknown role [deployment gpt-a]"
        );
        assert_eq!(e.field(), Some("messages[0].role"));
    }
}
