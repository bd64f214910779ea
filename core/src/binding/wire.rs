//! Errors and answers as the data every binding receives: one serde shape, documented in
//! `docs/bindings.md`, mapped by each binding to its own classes in one small function.

use serde::{Serialize, Serializer};

use crate::client::CallMeta;
use crate::error::{Error, ErrorKind, Result};

/// An error as data. `kind` is [`Error::code`] (stable: kinds are added, never renamed);
/// `display` is the one-line text with kind, field and deployment; the rest is `null`
/// where it does not apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorData<'a> {
    pub kind: &'static str,
    pub message: &'a str,
    pub display: String,
    /// The request field (`bad_request`) or config path (`config`) at fault.
    pub field: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub deployment: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// Seconds the provider asked to wait (`rate_limited`).
    pub retry_after: Option<f64>,
    /// The HTTP status the provider sent, where one explains the error.
    pub status: Option<u16>,
    /// Whether the same request may succeed if sent again.
    pub retryable: bool,
    /// The budget a `budget_exceeded` error names.
    pub budget: Option<&'a str>,
}

impl<'a> From<&'a Error> for ErrorData<'a> {
    fn from(error: &'a Error) -> Self {
        ErrorData {
            kind: error.code(),
            message: error.message(),
            display: error.to_string(),
            field: error.field(),
            provider: error.provider(),
            deployment: error.deployment(),
            request_id: error.request_id(),
            retry_after: error.retry_after().map(|d| d.as_secs_f64()),
            status: error.status(),
            retryable: error.is_retryable(),
            budget: match error.kind() {
                ErrorKind::BudgetExceeded { budget } => Some(budget),
                _ => None,
            },
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        ErrorData::from(self).serialize(serializer)
    }
}

/// An answer as a binding returns it: the OpenAI-shaped response, with what the pipeline
/// did under `switchyard`.
pub fn outcome_json<T: Serialize>(response: &T, meta: &CallMeta) -> Result<serde_json::Value> {
    let mut value = to_json(response)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("switchyard".into(), to_json(meta)?);
    }
    Ok(value)
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::internal(format!("cannot serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_error_as_data() {
        let error = Error::new(
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_millis(1500)),
            },
            "slow down",
        )
        .with_deployment("oa/gpt");
        let data = serde_json::to_value(&error).unwrap();
        assert_eq!(data["kind"], "rate_limited");
        assert_eq!(data["message"], "slow down");
        assert_eq!(data["retry_after"], 1.5);
        assert_eq!(data["status"], 429);
        assert_eq!(data["retryable"], true);
        assert_eq!(data["deployment"], "oa/gpt");
        assert_eq!(data["field"], serde_json::Value::Null);
        let budget = Error::new(
            ErrorKind::BudgetExceeded {
                budget: "team".into(),
            },
            "spent",
        );
        assert_eq!(serde_json::to_value(&budget).unwrap()["budget"], "team");
    }

    #[test]
    fn an_outcome_carries_the_meta_in_milliseconds() {
        let meta = CallMeta {
            model: "chat".into(),
            latency: Duration::from_micros(2500),
            ..CallMeta::default()
        };
        let value = outcome_json(&serde_json::json!({"id": "x"}), &meta).unwrap();
        assert_eq!(value["id"], "x");
        assert_eq!(value["switchyard"]["model"], "chat");
        assert_eq!(value["switchyard"]["latency_ms"], 2.5);
    }
}
