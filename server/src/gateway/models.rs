//! `GET /v1/models` and `GET /v1/models/{id}`: the logical models of the app's config.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::GatewayError;
use super::call::Call;
use super::respond::{finish, request_id};
use crate::api::principal::AppCaller;
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(get, path = "/v1/models", tag = "gateway",
    responses((status = 200, body = Object, description = "OpenAI's model list"),
        (status = "4XX", body = super::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Result<AppCaller, ApiError>) -> Response {
    let id = request_id();
    let result = async {
        let call = Call::open(&state, caller).await?;
        Ok::<_, GatewayError>(axum::Json(call.client.models()).into_response())
    }
    .await;
    finish(&id, result)
}

#[utoipa::path(get, path = "/v1/models/{id}", tag = "gateway",
    params(("id" = String, Path, description = "a logical model")),
    responses((status = 200, body = Object, description = "OpenAI's model object"),
        (status = "4XX", body = super::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Result<AppCaller, ApiError>,
    Path(model): Path<String>,
) -> Response {
    let id = request_id();
    let result = async {
        let call = Call::open(&state, caller).await?;
        let found = call
            .client
            .models()
            .data
            .into_iter()
            .find(|m| m.id == model)
            .ok_or(GatewayError::ModelNotFound(model))?;
        Ok(axum::Json(found).into_response())
    }
    .await;
    finish(&id, result)
}
