//! `GET /sdk/v1/config`: the config an app's SDK runs with, resolved for that app
//! (`crate::resolve`; provider keys only for apps in `direct` mode, `${VAR}` references
//! for every app), with an ETag. With `wait=SECONDS` and the current ETag (`etag=` or
//! `If-None-Match`), the request is held until a new version is activated or the wait
//! ends (304).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchyard::sdk_protocol::{CONFIG_PATH, CONFIG_VERSION_HEADER, ConfigQuery, MAX_WAIT};

use super::extract::Query;
use super::principal::AppCaller;
use crate::error::ApiError;
use crate::resolve::{Keys, app_config};
use crate::sdk_cache::Resolved;
use crate::state::AppState;
use crate::store::SecretsMode;
use crate::util::sha256_hex;

async fn resolve(state: &AppState, caller: &AppCaller) -> Result<Arc<Resolved>, ApiError> {
    let tenant_id = &caller.key.tenant_id;
    let snapshot = state
        .configs
        .get(&state.store, tenant_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if let Some(done) = snapshot.resolved_for(&caller.key.app_id) {
        return Ok(done);
    }
    let _resolving = snapshot.resolving.lock().await;
    if let Some(done) = snapshot.resolved_for(&caller.key.app_id) {
        return Ok(done);
    }
    let app = state
        .store
        .tenant(tenant_id)
        .get_app(&caller.key.app_id)
        .await?;
    let keys = match app.secrets_mode {
        SecretsMode::None => Keys::Withheld,
        SecretsMode::Direct => Keys::Opened,
    };
    let config = app_config(state, &snapshot, tenant_id, &app, keys).await?;
    let body = serde_json::to_vec(&config).map_err(|e| ApiError::Internal(e.to_string()))?;
    let etag = format!("\"{}\"", &sha256_hex(&body)[..32]);
    let resolved = Arc::new(Resolved {
        body: body.into(),
        etag,
        number: snapshot.number,
    });
    snapshot.remember(&app.id, resolved.clone());
    Ok(resolved)
}

fn respond(status: StatusCode, resolved: &Resolved) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&resolved.etag) {
        headers.insert(ETAG, v);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&resolved.number.to_string()) {
        headers.insert(CONFIG_VERSION_HEADER, v);
    }
    if status == StatusCode::NOT_MODIFIED {
        return (status, headers).into_response();
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    (status, headers, resolved.body.clone()).into_response()
}

/// Accepts an ETag with or without its quotes.
fn normalise(etag: &str) -> String {
    format!(
        "\"{}\"",
        etag.trim().trim_start_matches("W/").trim_matches('"')
    )
}

#[utoipa::path(get, path = CONFIG_PATH, tag = "sdk", params(("wait" = Option<i64>, Query, description = "seconds to hold the request (0..=60)"), ("etag" = Option<String>, Query, description = "the ETag the client has")), responses((status = 200, body = Object, description = "the resolved core Config"), (status = 304, description = "unchanged"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn config(
    State(state): State<AppState>,
    caller: AppCaller,
    headers: HeaderMap,
    Query(q): Query<ConfigQuery>,
) -> Result<Response, ApiError> {
    let max = MAX_WAIT.as_secs();
    let wait = u64::try_from(q.wait.unwrap_or(0))
        .ok()
        .filter(|w| *w <= max)
        .ok_or_else(|| ApiError::bad("wait", format!("must be between 0 and {max} seconds")))?;
    let known = q
        .etag
        .or_else(|| {
            headers
                .get(IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .map(|e| normalise(&e));
    // Subscribe before reading, so an activation in between still wakes us.
    let mut activations = state.activations.subscribe();
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let resolved = resolve(&state, &caller).await?;
        if known.as_deref() != Some(resolved.etag.as_str()) {
            return Ok(respond(StatusCode::OK, &resolved));
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(respond(StatusCode::NOT_MODIFIED, &resolved));
        }
        let mut shutdown = state.shutdown.subscribe();
        tokio::select! {
            changed = tokio::time::timeout(remaining, activations.changed()) => {
                if !matches!(changed, Ok(Ok(()))) {
                    return Ok(respond(StatusCode::NOT_MODIFIED, &resolved));
                }
            }
            _ = shutdown.wait_for(|stopping| *stopping) => {
                return Ok(respond(StatusCode::NOT_MODIFIED, &resolved));
            }
        }
    }
}
