//! The one error body every API route answers with: `{"code", "message", "field"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::config_text::TextIssue;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, wrong types, unknown fields, bad query parameters.
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    /// Well-formed but invalid (e.g. a config that fails core's validator).
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// A config submitted as text that fails: every issue, each at its line.
    #[error("{}", invalid_text_message(.0))]
    InvalidText(Vec<TextIssue>),
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    /// Also the answer for anything in another tenant: existence is never revealed.
    #[error("not found")]
    NotFound,
    /// Existed once and is over (an expired lease): start anew.
    #[error("{0}")]
    Gone(String),
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type: send application/json")]
    UnsupportedMediaType,
    #[error("too many failed attempts; retry later")]
    RateLimited,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(String),
    /// Details go to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

/// The error body of every route.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `bad_request`, `invalid`, `not_found`…
    pub code: String,
    pub message: String,
    /// The offending field (`name`, `document.models.chat.deployments[0].weight`), if any.
    pub field: Option<String>,
    /// For a config submitted as YAML text: every issue with its line and column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<TextIssue>>,
}

/// The first issue, where it is, and how many more.
fn invalid_text_message(issues: &[TextIssue]) -> String {
    let Some(first) = issues.first() else {
        return "invalid config".into();
    };
    let at = first
        .line
        .map(|l| format!("line {l}: "))
        .unwrap_or_default();
    let more = match issues.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    format!("{at}{}{more}", first.message)
}

impl ApiError {
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, Option<&str>) {
        match self {
            ApiError::BadRequest { field, .. } => {
                (StatusCode::BAD_REQUEST, "bad_request", field.as_deref())
            }
            ApiError::Invalid { field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                field.as_deref(),
            ),
            ApiError::InvalidText(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("yaml")),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", None),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", None),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::Gone(_) => (StatusCode::GONE, "gone", None),
            ApiError::Conflict { field, .. } => {
                (StatusCode::CONFLICT, "conflict", field.as_deref())
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
            ),
            ApiError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", None),
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None)
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let (status, code, field) = self.parts();
        let body = ErrorBody {
            code: code.to_owned(),
            message: self.to_string(),
            field: field.filter(|f| !f.is_empty()).map(str::to_owned),
            issues: match &self {
                ApiError::InvalidText(issues) => Some(issues.clone()),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let some = |f: String| Some(f).filter(|f| !f.is_empty());
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Gone(m) => ApiError::Gone(m),
            StoreError::Invalid { field, message } => ApiError::Invalid {
                field: some(field),
                message,
            },
            StoreError::Conflict { field, message } => ApiError::Conflict {
                field: some(field),
                message,
            },
            StoreError::Crypto(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
