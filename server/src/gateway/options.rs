//! Per-call options over HTTP: the `x-switchyard-options` header carries, as one JSON
//! object, the same options an SDK call takes (`timeout` in seconds, `user`, `session`,
//! `tags`, `metadata`, `cache`, `deployment`, `max_retries`; `docs/bindings.md`), decoded
//! by core's own decoder, so the two surfaces cannot drift. `tenant` and `app` are refused:
//! over HTTP the key decides whom a call is charged to.

use axum::http::{HeaderMap, HeaderName};
use switchyard::CallOptions;

use super::GatewayError;
use crate::error::ApiError;

pub const OPTIONS: HeaderName = HeaderName::from_static("x-switchyard-options");

/// The call's options: none without the header; a header that is not a JSON object of
/// known options, or names `tenant` or `app`, is a 400 naming it.
pub fn from_headers(headers: &HeaderMap) -> Result<CallOptions, GatewayError> {
    let Some(value) = headers.get(&OPTIONS) else {
        return Ok(CallOptions::default());
    };
    let bad = |message: String| GatewayError::from(ApiError::bad(OPTIONS.as_str(), message));
    let json: serde_json::Value = value
        .to_str()
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| bad("must be a JSON object of call options".into()))?;
    let object = json
        .as_object()
        .ok_or_else(|| bad("must be a JSON object of call options".into()))?;
    if let Some(field) = ["tenant", "app"]
        .into_iter()
        .find(|f| object.contains_key(*f))
    {
        return Err(bad(format!(
            "`{field}` cannot be set over HTTP: the app key decides whom a call is charged to"
        )));
    }
    CallOptions::from_json(json).map_err(|error| bad(error.to_string()))
}
