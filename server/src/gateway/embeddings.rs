//! `POST /v1/embeddings`.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use switchyard::CallOptions;
use switchyard::types::EmbeddingRequest;

use super::GatewayError;
use super::call::{Call, json_body};
use super::respond::{finish, json, request_id};
use crate::api::principal::AppCaller;
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(post, path = "/v1/embeddings", tag = "gateway",
    request_body(content = Object, description = "OpenAI's embeddings request"),
    responses((status = 200, body = Object, description = "OpenAI's CreateEmbeddingResponse"),
        (status = "4XX", body = super::error::ErrorEnvelope),
        (status = "5XX", body = super::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Result<AppCaller, ApiError>,
    body: Body,
) -> Response {
    let id = request_id();
    finish(&id, serve(&state, caller, body).await)
}

async fn serve(
    state: &AppState,
    caller: Result<AppCaller, ApiError>,
    body: Body,
) -> Result<Response, GatewayError> {
    let call = Call::open(state, caller).await?;
    let request: EmbeddingRequest = json_body(body).await?;
    call.check_model(&request.model)?;
    let outcome = call.client.embed(request, &CallOptions::default()).await?;
    Ok(json(&outcome.response, &outcome.meta))
}
