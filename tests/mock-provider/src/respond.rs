//! Response plumbing shared by the providers: payloads, ids, timestamps, JSON bodies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::sse::Frame;

/// A successful provider answer before faults and extra headers are applied.
pub(crate) enum Payload {
    Json(serde_json::Value),
    Sse {
        frames: Vec<Frame>,
        /// The provider-shaped invalid frame used by the `malformed` fault.
        malformed: Bytes,
    },
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique id suffix for response/message/tool-call ids.
pub(crate) fn next_id() -> String {
    format!("mock{:012x}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// Unix seconds, as OpenAI's `created`.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A JSON response with the given status and content type.
pub(crate) fn json_with(
    status: u16,
    content_type: &'static str,
    v: &serde_json::Value,
) -> Response<Body> {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A JSON response for the control API and mock-level errors.
pub(crate) fn json(status: u16, v: &serde_json::Value) -> Response<Body> {
    json_with(status, "application/json", v)
}

/// The mock's own error shape (unknown session, bad control request).
pub(crate) fn mock_error(status: u16, message: &str) -> Response<Body> {
    json(
        status,
        &serde_json::json!({"error": {"type": "mock_error", "message": message}}),
    )
}
