//! `POST /sdk/v1/usage`: usage events from an app's SDK, authenticated by its app key.
//! The body is read within [`USAGE_MAX_BYTES`] after decompression (a gzip bomb stops at
//! the limit: 413), parsed as a batch of raw JSON values (not JSON or not a batch: 400;
//! over [`USAGE_MAX_EVENTS`]: 413), and each event is checked on its own
//! ([`crate::usage::validate`]). The ack is sent once the accepted events are committed.
//! Every event refused: 422, the error body plus the rejections, nothing stored.

use std::io::Read;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use switchyard::sdk_protocol::{
    RejectedEvent, USAGE_MAX_BYTES, USAGE_MAX_EVENTS, USAGE_PATH, UsageAck, UsageBatch,
};
use switchyard::telemetry::UsageEvent;

use super::principal::AppCaller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::usage::leases::refuse_foreign_leases;
use crate::usage::validate::{CheckedEvent, Window, check, check_typed};
use crate::util::now_ms;

/// A batch as read: typed when every event deserializes, else raw values.
enum Parsed {
    Typed(UsageBatch<UsageEvent>),
    Raw(UsageBatch<Value>),
}

/// The body as sent, within the limit: what it is before decompression cannot exceed
/// what it may be after.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, USAGE_MAX_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)
}

/// Decompresses by `Content-Encoding` (`gzip` or none), stopping one byte past the limit.
fn decode_body(headers: &HeaderMap, raw: Bytes) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(raw),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw.as_ref())
                .take(USAGE_MAX_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::bad("", format!("cannot decompress the body: {e}")))?;
            if out.len() > USAGE_MAX_BYTES {
                return Err(ApiError::PayloadTooLarge);
            }
            Ok(out.into())
        }
        Some(_) => Err(ApiError::UnsupportedMediaType),
    }
}

/// JSON, or no `Content-Type` at all.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("")) {
        None => Ok(()),
        Some(v)
            if v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")) =>
        {
            Ok(())
        }
        Some(_) => Err(ApiError::UnsupportedMediaType),
    }
}

#[utoipa::path(post, path = USAGE_PATH, tag = "sdk", request_body(content = Object, description = "UsageBatch: {dropped, events: [UsageEvent]} (gzip or plain)"), responses((status = 200, body = Object, description = "UsageAck: {accepted, duplicates, rejected}"), (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 422, body = Object, description = "every event refused: the error body plus `rejected`"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn ingest(
    State(state): State<AppState>,
    caller: AppCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_content_type(&headers)?;
    let bytes = decode_body(&headers, read_body(body).await?)?;
    // Call-log content is read from the raw JSON with the server's own struct.
    let contents = crate::call_logs::content::from_batch(&bytes);
    // Most batches are well formed: read them typed at once, and only a batch with a bad
    // event as raw values, event by event.
    let parsed = match serde_json::from_slice::<UsageBatch<UsageEvent>>(&bytes) {
        Ok(batch) => Parsed::Typed(batch),
        Err(_) => Parsed::Raw(
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad("", format!("not a usage batch: {e}")))?,
        ),
    };
    let (dropped, count) = match &parsed {
        Parsed::Typed(b) => (b.dropped, b.events.len()),
        Parsed::Raw(b) => (b.dropped, b.events.len()),
    };
    if count > USAGE_MAX_EVENTS {
        return Err(ApiError::PayloadTooLarge);
    }
    let tenant = state.store.tenant(&caller.key.tenant_id);
    let sender = tenant.usage_sender(&caller.key.app_id).await?;
    let now = Window::at(now_ms(), state.usage_retention_days);
    let checked: Vec<Result<CheckedEvent, RejectedEvent>> = match parsed {
        Parsed::Typed(b) => b
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| check_typed(i, e, &sender, now))
            .collect(),
        Parsed::Raw(b) => b
            .events
            .into_iter()
            .enumerate()
            .map(|(i, mut v)| {
                // Content is not usage: a malformed one must not cost the event.
                if let Some(event) = v.as_object_mut() {
                    event.remove("content");
                }
                check(i, v, &sender, now)
            })
            .collect(),
    };
    let checked = refuse_foreign_leases(&tenant, &sender.app_id, checked).await?;
    let mut kept: Vec<CheckedEvent> = Vec::with_capacity(count);
    let mut rejected: Vec<RejectedEvent> = Vec::new();
    for r in checked {
        match r {
            Ok(e) => kept.push(e),
            Err(r) => rejected.push(r),
        }
    }
    if dropped > 0 {
        tracing::warn!(app = %sender.app_id, dropped, "SDK dropped usage events at its spool's cap");
    }
    if kept.is_empty() && !rejected.is_empty() {
        state
            .metrics
            .usage_ingested(&sender.tenant_id, &[], rejected.len() as u64, 0);
        return Ok(all_refused(rejected));
    }
    let logs =
        crate::call_logs::intake::for_batch(&state, &tenant, &sender, &kept, contents).await?;
    let done = tenant.ingest_usage_logged(&sender, kept, &logs).await?;
    tenant
        .record_policy_violations(&done.inserted, "sdk", &sender.app_name)
        .await?;
    tenant
        .record_crossings(&sender.app_id, &done.inserted, state.leases.grace_ms)
        .await;
    state.metrics.usage_ingested(
        &sender.tenant_id,
        &done.inserted,
        rejected.len() as u64,
        done.duplicates,
    );
    Ok(Json(UsageAck {
        accepted: done.inserted.len() as u64,
        duplicates: done.duplicates,
        rejected,
    })
    .into_response())
}

fn all_refused(rejected: Vec<RejectedEvent>) -> Response {
    let first = rejected
        .first()
        .and_then(|r| r.field.as_ref().map(|f| format!("events[{}].{f}", r.index)));
    let body = serde_json::json!({
        "code": "invalid",
        "message": "every event of the batch was refused",
        "field": first,
        "rejected": rejected,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}
