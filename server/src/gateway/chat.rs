//! `POST /v1/chat/completions`: a chat completion, or with `stream: true` a stream of
//! chunks as server-sent events.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use switchyard::types::ChatRequest;

use super::call::{Call, json_body};
use super::respond::{finish, json, request_id};
use super::{GatewayError, sse};
use crate::api::principal::AppCaller;
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(post, path = "/v1/chat/completions", tag = "gateway",
    request_body(content = Object, description = "OpenAI's chat completion request; the model is a logical model of the app's config"),
    responses(
        (status = 200, body = Object, description = "OpenAI's ChatCompletion, or with `stream: true` `text/event-stream` of ChatCompletionChunk ending in `data: [DONE]` (or an error event)"),
        (status = "4XX", body = super::error::ErrorEnvelope),
        (status = "5XX", body = super::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn completions(
    State(state): State<AppState>,
    caller: Result<AppCaller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = request_id();
    finish(&id, serve(&state, caller, &headers, body).await)
}

async fn serve(
    state: &AppState,
    caller: Result<AppCaller, ApiError>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let call = Call::open(state, caller).await?.with_options(headers)?;
    let request: ChatRequest = json_body(body).await?;
    call.check_model(&request.model)?;
    if request.stream == Some(true) {
        let stream = call.client.chat_stream(request, &call.options).await?;
        return Ok(sse::response(stream));
    }
    let outcome = call.client.chat(request, &call.options).await?;
    Ok(json(&outcome.response, &outcome.meta))
}
