//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200)))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// The database answers and the server is not shutting down: traffic may be sent here.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200), (status = 503, body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    if *state.shutdown.borrow() {
        return Err(ApiError::Unavailable("shutting down".into()));
    }
    state
        .store
        .db
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("database: {e}")))?;
    Ok(axum::Json(json!({"status": "ready"})))
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let start = std::time::Instant::now();
    let up = state.store.db.ping().await.is_ok();
    let mut text = state.metrics.render(&state.store.db);
    state.leaders.render(&mut text);
    text.push_str(&format!(
        "# TYPE switchyard_db_up gauge\nswitchyard_db_up {}\n\
         # TYPE switchyard_db_ping_seconds gauge\nswitchyard_db_ping_seconds {:.6}\n",
        u8::from(up),
        start.elapsed().as_secs_f64()
    ));
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
