//! The headers every gateway answer carries: `x-request-id` always; on a served call,
//! `x-switchyard-deployment`, `x-switchyard-cache` (`hit`/`miss`), `x-switchyard-model`
//! (the logical model that answered), `x-switchyard-attempts`, `x-switchyard-fallback`
//! (when the call moved to one) and, when the cost is known as the headers leave (not
//! for streams), `x-switchyard-cost-usd`.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use switchyard::CallMeta;

use super::GatewayError;
use crate::util::random_hex;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const DEPLOYMENT: HeaderName = HeaderName::from_static("x-switchyard-deployment");
pub const COST: HeaderName = HeaderName::from_static("x-switchyard-cost-usd");
pub const CACHE: HeaderName = HeaderName::from_static("x-switchyard-cache");
pub const MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
pub const ATTEMPTS: HeaderName = HeaderName::from_static("x-switchyard-attempts");
pub const FALLBACK: HeaderName = HeaderName::from_static("x-switchyard-fallback");

pub fn request_id() -> String {
    format!("req_{}", random_hex(12))
}

/// The answer, or the error in OpenAI's shape, with the request id.
pub fn finish(id: &str, result: Result<Response, GatewayError>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

/// What the pipeline did, as headers.
pub fn meta_headers(headers: &mut HeaderMap, meta: &CallMeta, with_cost: bool) {
    if let Ok(v) = HeaderValue::from_str(&meta.deployment) {
        headers.insert(DEPLOYMENT, v);
    }
    headers.insert(
        CACHE,
        HeaderValue::from_static(if meta.cache_hit { "hit" } else { "miss" }),
    );
    if let Ok(v) = HeaderValue::from_str(&meta.model) {
        headers.insert(MODEL, v);
    }
    headers.insert(ATTEMPTS, HeaderValue::from(meta.attempts));
    if let Some(v) = meta
        .fallback
        .as_deref()
        .and_then(|f| HeaderValue::from_str(f).ok())
    {
        headers.insert(FALLBACK, v);
    }
    if with_cost {
        // Display of an f64: the shortest text that reads back exactly, never an exponent.
        if let Ok(v) = HeaderValue::from_str(&meta.cost_usd.to_string()) {
            headers.insert(COST, v);
        }
    }
}

/// A JSON answer with the call's headers.
pub fn json<T: serde::Serialize>(value: &T, meta: &CallMeta) -> Response {
    let mut response = axum::Json(value).into_response();
    meta_headers(response.headers_mut(), meta, true);
    response
}

/// A path or method under `/v1` the gateway does not serve.
pub fn unrouted() -> Response {
    finish(&request_id(), Err(GatewayError::Unrouted))
}
