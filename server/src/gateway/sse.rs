//! A streamed answer as server-sent events: one `data:` event per chunk, then
//! `data: [DONE]` only after the whole answer. A stream that fails after its first byte
//! ends with an error event in OpenAI's shape and no `[DONE]`, which the official
//! clients raise as an error. Dropping the body (the caller went away) drops the engine's
//! stream, which settles the call.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use futures_util::stream;
use switchyard::CallStream;

use super::GatewayError;
use super::respond::meta_headers;

enum State {
    Open(Box<CallStream>),
    Done,
}

pub fn response(stream: CallStream) -> Response {
    let meta = stream.meta();
    let events = stream::unfold(State::Open(Box::new(stream)), |state| async move {
        let State::Open(mut stream) = state else {
            return None;
        };
        let (frame, next) = match stream.next().await {
            Some(Ok(chunk)) => match serde_json::to_vec(&chunk) {
                Ok(json) => (event(&json), State::Open(stream)),
                Err(e) => (
                    error_event(&switchyard::Error::internal(format!("chunk: {e}")).into()),
                    State::Done,
                ),
            },
            Some(Err(error)) => {
                tracing::warn!(%error, "gateway: stream failed after its first chunk");
                (error_event(&error.into()), State::Done)
            }
            None => (Bytes::from_static(b"data: [DONE]\n\n"), State::Done),
        };
        Some((Ok::<_, Infallible>(frame), next))
    });
    let mut response = Response::new(Body::from_stream(events));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    meta_headers(headers, &meta, false);
    response
}

fn event(json: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(json.len() + 8);
    frame.extend_from_slice(b"data: ");
    frame.extend_from_slice(json);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

fn error_event(error: &GatewayError) -> Bytes {
    let json = serde_json::to_vec(&error.envelope())
        .unwrap_or_else(|_| br#"{"error":{"message":"stream failed","type":"server_error","param":null,"code":"internal"}}"#.to_vec());
    event(&json)
}
