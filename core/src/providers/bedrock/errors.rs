//! Bedrock's errors (`{"message": ...}` with the type in `x-amzn-ErrorType`, or a stream's
//! exception event) mapped to the taxonomy.

use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::providers::retry_after::retry_after;

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
    #[serde(default, rename = "__type")]
    kind: Option<String>,
}

/// Maps an HTTP error answer: the type from `x-amzn-ErrorType` (or the body's `__type`).
pub fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let header_kind = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let kind = header_kind.or(parsed.kind).unwrap_or_default();
    let message = parsed
        .message
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect());
    classify(status, &kind, message, Some(headers))
}

/// Maps a ConverseStream exception event (its type, its JSON payload) mid-stream: always
/// an error, so the stream is never taken for complete.
pub fn stream_exception(kind: &str, payload: &str) -> Error {
    let message = serde_json::from_str::<ErrorBody>(payload)
        .ok()
        .and_then(|b| b.message)
        .unwrap_or_else(|| payload.chars().take(500).collect());
    classify(200, kind, message, None)
}

/// By the exception's name first (`ThrottlingException`, or `throttlingException` in a
/// stream, maybe followed by `:` and a namespace), then by the status.
fn classify(status: u16, kind: &str, message: String, headers: Option<&HeaderMap>) -> Error {
    let name = kind
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let lower = message.to_ascii_lowercase();
    let error_kind = match name.as_str() {
        "throttlingexception" | "toomanyrequestsexception" => ErrorKind::RateLimited {
            retry_after: headers.and_then(retry_after),
        },
        "validationexception"
            if lower.contains("too long")
                || lower.contains("context length")
                || lower.contains("context window")
                || lower.contains("too many input tokens")
                || lower.contains("input is too long") =>
        {
            ErrorKind::ContextWindowExceeded
        }
        "validationexception" => ErrorKind::BadRequest { field: None },
        "accessdeniedexception"
        | "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception"
        | "expiredtokenexception" => ErrorKind::Auth,
        "modelnotreadyexception" | "serviceunavailableexception" => ErrorKind::Unavailable,
        "modeltimeoutexception" => ErrorKind::Timeout,
        "resourcenotfoundexception" => ErrorKind::Upstream { status: 404 },
        "internalserverexception" | "modelstreamerrorexception" | "modelerrorexception" => {
            ErrorKind::Upstream {
                status: if (500..600).contains(&status) {
                    status
                } else {
                    500
                },
            }
        }
        _ => match status {
            401 | 403 => ErrorKind::Auth,
            408 => ErrorKind::Timeout,
            429 => ErrorKind::RateLimited {
                retry_after: headers.and_then(retry_after),
            },
            503 => ErrorKind::Unavailable,
            400 | 422 => ErrorKind::BadRequest { field: None },
            200..=299 => ErrorKind::Upstream { status: 500 },
            _ => ErrorKind::Upstream { status },
        },
    };
    Error::new(error_kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, kind: &str, message: &str) -> Error {
        let mut headers = HeaderMap::new();
        headers.insert("x-amzn-errortype", kind.parse().unwrap());
        headers.insert("retry-after", "2".parse().unwrap());
        map_error(
            status,
            &headers,
            format!(r#"{{"message":"{message}"}}"#).as_bytes(),
        )
    }

    #[test]
    fn maps_bedrock_exceptions() {
        let throttled = map(
            429,
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "Too many requests, please wait before trying again.",
        );
        assert_eq!(
            throttled.retry_after(),
            Some(std::time::Duration::from_secs(2))
        );
        let long = map(
            400,
            "ValidationException",
            "Input is too long for requested model.",
        );
        assert_eq!(long.kind(), &ErrorKind::ContextWindowExceeded);
        let bad = map(400, "ValidationException", "temperature: must be <= 1");
        assert_eq!(bad.code(), "bad_request");
        assert_eq!(
            map(403, "AccessDeniedException", "no").kind(),
            &ErrorKind::Auth
        );
        assert_eq!(
            map(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid."
            )
            .kind(),
            &ErrorKind::Auth
        );
        assert_eq!(
            map(429, "ModelNotReadyException", "warming").kind(),
            &ErrorKind::Unavailable
        );
        assert_eq!(
            map(503, "ServiceUnavailableException", "x").kind(),
            &ErrorKind::Unavailable
        );
        let mid = stream_exception("modelStreamErrorException", r#"{"message":"boom"}"#);
        assert_eq!(mid.kind(), &ErrorKind::Upstream { status: 500 });
        assert!(mid.is_retryable());
        assert_eq!(
            stream_exception("throttlingException", "{}").code(),
            "rate_limited"
        );
    }
}
