//! Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the
//! status OpenAI (or an HTTP gateway) would answer. Core's error kinds map here once; the
//! same body ends a stream that fails after its first byte.

use axum::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchyard::ErrorKind;

use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Authentication, or the store, failed before the call.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// The engine refused or failed the call.
    #[error("{0}")]
    Core(#[from] switchyard::Error),
    /// Unknown, another tenant's, or not allowed to this app: the same answer, as OpenAI's.
    #[error("The model `{0}` does not exist or you do not have access to it.")]
    ModelNotFound(String),
    #[error("no config is active for this app's tenant")]
    NoConfig,
    #[error(
        "request body too large (the limit is {} bytes)",
        super::MAX_BODY_BYTES
    )]
    TooLarge,
    #[error("Unrecognized request URL or method.")]
    Unrouted,
}

/// The body of every gateway error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorObject,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorObject {
    pub message: String,
    /// OpenAI's error type: `invalid_request_error`, `rate_limit_error`, `server_error`…
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The request field at fault, where one is.
    pub param: Option<String>,
    /// OpenAI's code where it has one (`invalid_api_key`, `model_not_found`,
    /// `context_length_exceeded`, `insufficient_quota`…), else core's error kind.
    pub code: Option<&'static str>,
    /// The guardrail a `policy_violation` names (`docs/guardrails.md`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

const INVALID: &str = "invalid_request_error";
const SERVER: &str = "server_error";
const UPSTREAM: &str = "upstream_error";

impl GatewayError {
    /// Status, OpenAI type, code and param.
    fn parts(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        Option<&'static str>,
        Option<String>,
    ) {
        match self {
            GatewayError::Api(e) => match e {
                ApiError::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    INVALID,
                    Some("invalid_api_key"),
                    None,
                ),
                ApiError::RateLimited => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    Some("rate_limit_exceeded"),
                    None,
                ),
                ApiError::BadRequest { field, .. } | ApiError::Invalid { field, .. } => (
                    StatusCode::BAD_REQUEST,
                    INVALID,
                    None,
                    field.clone().filter(|f| !f.is_empty()),
                ),
                other => (other.status(), SERVER, None, None),
            },
            GatewayError::Core(e) => core_parts(e),
            GatewayError::ModelNotFound(_) => (
                StatusCode::NOT_FOUND,
                INVALID,
                Some("model_not_found"),
                Some("model".into()),
            ),
            GatewayError::NoConfig => (
                StatusCode::SERVICE_UNAVAILABLE,
                SERVER,
                Some("no_active_config"),
                None,
            ),
            GatewayError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, INVALID, None, None),
            GatewayError::Unrouted => (StatusCode::NOT_FOUND, INVALID, None, None),
        }
    }

    /// The body, also sent as the last event of a failed stream.
    pub fn envelope(&self) -> ErrorEnvelope {
        let (_, kind, code, param) = self.parts();
        let message = match self {
            GatewayError::Api(ApiError::Unauthenticated) => {
                "Incorrect API key provided: send an app key as `Authorization: Bearer` or `api-key`.".into()
            }
            GatewayError::Api(ApiError::Internal(_)) => "internal error".into(),
            other => other.to_string(),
        };
        let rule = match self {
            GatewayError::Core(e) => e.rule().map(str::to_owned),
            _ => None,
        };
        ErrorEnvelope {
            error: ErrorObject {
                message,
                kind,
                param,
                code,
                rule,
            },
        }
    }

    /// Seconds to wait before retrying, when known.
    fn retry_after(&self) -> Option<u64> {
        match self {
            GatewayError::Api(ApiError::RateLimited) => Some(60),
            GatewayError::Core(e) => e.retry_after().map(|d| d.as_secs_f64().ceil() as u64),
            _ => None,
        }
    }
}

/// Core's kinds: OpenAI's status where the caller's input or quota is at fault; a
/// gateway's (502, 503, 504) where the upstream or the server is. A provider refusing the
/// server's own key is a 502, not a 401: the caller's key was fine.
fn core_parts(
    e: &switchyard::Error,
) -> (
    StatusCode,
    &'static str,
    Option<&'static str>,
    Option<String>,
) {
    let param = e.field().map(str::to_owned);
    match e.kind() {
        ErrorKind::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("rate_limit_exceeded"),
            None,
        ),
        ErrorKind::BudgetExceeded { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            Some("insufficient_quota"),
            None,
        ),
        ErrorKind::ContextWindowExceeded => (
            StatusCode::BAD_REQUEST,
            INVALID,
            Some("context_length_exceeded"),
            Some("messages".into()),
        ),
        // A guardrail refused the request before it left: the caller's input, as OpenAI
        // answers its own moderation refusals.
        ErrorKind::PolicyViolation { .. } => (
            StatusCode::BAD_REQUEST,
            INVALID,
            Some("policy_violation"),
            None,
        ),
        ErrorKind::ContentPolicy => (
            StatusCode::BAD_REQUEST,
            INVALID,
            Some("content_policy_violation"),
            None,
        ),
        ErrorKind::BadRequest { .. } => {
            let status = e
                .http_status()
                .filter(|s| matches!(s, 400 | 404 | 409 | 413 | 422))
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::BAD_REQUEST);
            (status, INVALID, None, param)
        }
        ErrorKind::Upstream { status } => {
            let passed = Some(*status)
                .filter(|s| matches!(s, 404 | 409 | 422))
                .and_then(|s| StatusCode::from_u16(s).ok());
            (
                passed.unwrap_or(StatusCode::BAD_GATEWAY),
                UPSTREAM,
                Some("upstream"),
                None,
            )
        }
        ErrorKind::Auth => (
            StatusCode::BAD_GATEWAY,
            UPSTREAM,
            Some("upstream_auth"),
            None,
        ),
        ErrorKind::Network => (StatusCode::BAD_GATEWAY, UPSTREAM, Some("network"), None),
        ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, UPSTREAM, Some("timeout"), None),
        ErrorKind::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            SERVER,
            Some("unavailable"),
            None,
        ),
        ErrorKind::Overloaded => (
            StatusCode::SERVICE_UNAVAILABLE,
            SERVER,
            Some("overloaded"),
            None,
        ),
        // A leased budget's lease expired with the management server away, and its
        // policy is to deny: the caller may try again once the server is back.
        ErrorKind::BudgetUnavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            SERVER,
            Some("budget_unavailable"),
            None,
        ),
        // 499: the caller went away (nginx's code); no one reads this answer.
        ErrorKind::Canceled => (
            StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            INVALID,
            Some("canceled"),
            None,
        ),
        ErrorKind::Config { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            SERVER,
            Some("config"),
            None,
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            SERVER,
            Some("internal"),
            None,
        ),
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        if let GatewayError::Api(ApiError::Internal(detail)) = &self {
            tracing::error!(error = %detail, "gateway: internal error");
        }
        let status = self.parts().0;
        let mut response = (status, axum::Json(self.envelope())).into_response();
        // Which deployment failed, as a served call says which answered.
        if let Some(v) = match &self {
            GatewayError::Core(e) => e.deployment().and_then(|d| HeaderValue::from_str(d).ok()),
            _ => None,
        } {
            response.headers_mut().insert(super::respond::DEPLOYMENT, v);
        }
        if let Some(secs) = self.retry_after() {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(RETRY_AFTER, v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_violation_is_a_400_naming_its_rule() {
        let error = GatewayError::Core(switchyard::Error::policy_violation(
            "topic:legal-advice",
            "the request matches the guardrail 'topic:legal-advice'",
        ));
        let (status, kind, code, _) = error.parts();
        assert_eq!(
            (status, kind, code),
            (StatusCode::BAD_REQUEST, INVALID, Some("policy_violation"))
        );
        let body = serde_json::to_value(error.envelope()).unwrap();
        assert_eq!(body["error"]["rule"], "topic:legal-advice");
        assert_eq!(body["error"]["code"], "policy_violation");
    }

    #[test]
    fn a_budget_that_cannot_be_checked_is_a_503_budget_unavailable() {
        let error = GatewayError::Core(switchyard::Error::new(
            ErrorKind::BudgetUnavailable {
                budget: "team".into(),
            },
            "lease expired",
        ));
        let (status, kind, code, _) = error.parts();
        assert_eq!(
            (status, kind, code),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                SERVER,
                Some("budget_unavailable")
            )
        );
    }
}
