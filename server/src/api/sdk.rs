//! `GET /sdk/v1/config`: the config an app's SDK runs with, resolved for that app (only
//! the models it may use and the providers they need; provider keys only for apps in
//! `direct` mode, `${VAR}` references for every app), with an ETag. With `wait=SECONDS` and the current ETag (`etag=` or
//! `If-None-Match`), the request is held until a new version is activated or the wait
//! ends (304).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchyard::config::Secret;
use switchyard::sdk_protocol::{CONFIG_PATH, CONFIG_VERSION_HEADER, ConfigQuery, MAX_WAIT};

use super::extract::Query;
use super::principal::AppCaller;
use crate::error::ApiError;
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
    let tenant = state.store.tenant(tenant_id);
    let app = tenant.get_app(&caller.key.app_id).await?;
    let mut config = snapshot.config.clone();
    if let Some(allowed) = &app.allowed_models {
        let visible = reachable(&config, allowed);
        config.models.retain(|alias, _| visible.contains(alias));
    }
    let used: HashSet<&str> = config
        .models
        .values()
        .flat_map(|m| m.deployments.iter().map(|d| d.provider.as_str()))
        .collect();
    let used: HashSet<String> = used.into_iter().map(str::to_owned).collect();
    config.providers.retain(|name, _| used.contains(name));
    config.identity.tenant = Some(tenant_id.clone());
    config.identity.app = Some(app.name.clone());
    match app.secrets_mode {
        // An env reference is not a secret: it names a variable on the SDK's own host.
        SecretsMode::None => config
            .providers
            .values_mut()
            .filter(|p| p.api_key.as_ref().is_some_and(|k| k.env_var().is_none()))
            .for_each(|p| p.api_key = None),
        SecretsMode::Direct => {
            if let Some(key) = state.master_key.as_deref() {
                for (name, secret) in tenant.open_credentials(key).await? {
                    if let Some(p) = config.providers.get_mut(&name) {
                        p.api_key = Some(Secret::new(secret));
                    }
                }
            }
        }
    }
    let issues = config.validate();
    if !issues.is_empty() {
        tracing::warn!(app = %app.id, issues = ?issues, "config resolved for an app does not validate");
    }
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

/// The allowed models plus every model they fall back or reroute to, transitively: the
/// SDK needs those to follow its routes, and the result still passes core's validator.
fn reachable(config: &switchyard::config::Config, allowed: &[String]) -> HashSet<String> {
    let mut visible: HashSet<String> = HashSet::new();
    let mut queue: Vec<String> = allowed
        .iter()
        .filter(|m| config.models.contains_key(*m))
        .cloned()
        .collect();
    while let Some(alias) = queue.pop() {
        if !visible.insert(alias.clone()) {
            continue;
        }
        let mut next: Vec<&String> = Vec::new();
        if let Some(model) = config.models.get(&alias) {
            let f = &model.fallbacks;
            next.extend(
                f.rate_limited
                    .iter()
                    .chain(&f.context_window_exceeded)
                    .chain(&f.content_policy)
                    .chain(&f.timeout)
                    .chain(&f.default),
            );
        }
        next.extend(config.budgets.iter().filter_map(|b| b.reroute_to.as_ref()));
        queue.extend(
            next.into_iter()
                .filter(|m| config.models.contains_key(*m) && !visible.contains(*m))
                .cloned(),
        );
    }
    visible
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
