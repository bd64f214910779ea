//! `POST /v1/embeddings`. The engine's embeddings are floats; `encoding_format: base64`
//! (what the official Python and Node packages ask for by default) is honoured here, by
//! encoding the floats as OpenAI does: little-endian f32, base64.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
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
    let mut request: EmbeddingRequest = json_body(body).await?;
    call.check_model(&request.model)?;
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "encoding_format",
                format!("must be float or base64, not {other}"),
            )
            .into());
        }
    };
    request.encoding_format = None;
    let outcome = call.client.embed(request, &call.options).await?;
    if !base64 {
        return Ok(json(&outcome.response, &outcome.meta));
    }
    let mut value = serde_json::to_value(&outcome.response)
        .map_err(|e| ApiError::Internal(format!("embeddings: {e}")))?;
    let vectors = outcome.response.data.iter().map(|d| encode(&d.embedding));
    if let Some(items) = value["data"].as_array_mut() {
        for (item, encoded) in items.iter_mut().zip(vectors) {
            item["embedding"] = serde_json::Value::String(encoded);
        }
    }
    Ok(json(&value, &outcome.meta))
}

/// A vector as OpenAI's `base64` encoding: its f32 values, little-endian, in base64.
fn encode(vector: &[f32]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
