//! Gemini API wire format: generateContent, the `alt=sse` stream, embeddings, errors.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::embedding;
use crate::reply::Reply;
use crate::respond::{Payload, next_id};
use crate::script::{FinishReason, Step};
use crate::sse::{self, Frame};

fn finish(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop | FinishReason::ToolCalls => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
    }
}

fn usage(r: &Reply<'_>) -> Value {
    let mut u = json!({
        "promptTokenCount": r.prompt_tokens,
        "candidatesTokenCount": r.completion_tokens,
        "totalTokenCount": r.prompt_tokens + r.completion_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": r.prompt_tokens}]
    });
    if r.cached_tokens > 0 {
        u["cachedContentTokenCount"] = json!(r.cached_tokens);
    }
    u
}

/// The ratings Gemini attaches when it blocks a candidate.
fn blocked_ratings() -> Value {
    json!([
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}
    ])
}

fn function_parts(r: &Reply<'_>) -> Vec<Value> {
    r.tool_calls
        .iter()
        .map(|t| json!({"functionCall": {"name": t.name, "args": t.arguments_value()}}))
        .collect()
}

fn response(r: &Reply<'_>, response_id: &str, candidate: Value, usage: Value) -> Value {
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": r.model,
        "responseId": response_id
    })
}

/// A `GenerateContentResponse`, or its SSE stream when `stream` is set.
///
/// Gemini sends function calls whole, never split over frames.
pub(crate) fn generate(r: &Reply<'_>, stream: bool) -> Payload {
    let response_id = next_id();
    if !stream {
        let candidate = if r.finish == FinishReason::ContentFilter {
            json!({"finishReason": "SAFETY", "index": 0, "safetyRatings": blocked_ratings()})
        } else {
            let mut parts: Vec<Value> = r.text.iter().map(|t| json!({"text": t})).collect();
            parts.extend(function_parts(r));
            json!({"content": {"parts": parts, "role": "model"},
                   "finishReason": finish(r.finish), "index": 0})
        };
        return Payload::Json(response(r, &response_id, candidate, usage(r)));
    }

    let partial_usage =
        json!({"promptTokenCount": r.prompt_tokens, "totalTokenCount": r.prompt_tokens});
    let mut parts: Vec<Vec<Value>> = r.chunks.iter().map(|c| vec![json!({"text": c})]).collect();
    let calls = function_parts(r);
    if !calls.is_empty() {
        parts.push(calls);
    }
    if parts.is_empty() {
        parts.push(vec![json!({"text": ""})]);
    }
    let last = parts.len() - 1;
    let frames = parts
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
            if i < last {
                return Frame::content(sse::data_crlf(&response(
                    r,
                    &response_id,
                    candidate,
                    partial_usage.clone(),
                )));
            }
            // The last frame carries the finish reason and final usage, as the real service does.
            candidate["finishReason"] = json!(finish(r.finish));
            if r.finish == FinishReason::ContentFilter {
                candidate["safetyRatings"] = blocked_ratings();
            }
            Frame {
                bytes: sse::data_crlf(&response(r, &response_id, candidate, usage(r))),
                content: true,
                terminal: true,
            }
        })
        .collect();
    Payload::Sse {
        frames,
        malformed: Bytes::from_static(
            b"data: {\"candidates\": [{\"content\": {\"parts\": \r\n\r\n",
        ),
    }
}

fn content_text(content: Option<&Value>) -> String {
    content
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

fn dims(step: &Step, request: &Value) -> usize {
    step.dimensions
        .or_else(|| {
            request
                .get("outputDimensionality")
                .and_then(Value::as_u64)
                .map(|d| d as usize)
        })
        .unwrap_or(8)
        .max(1)
}

/// `:embedContent` response.
pub(crate) fn embed(body: &Value, step: &Step) -> Value {
    let text = content_text(body.get("content"));
    json!({"embedding": {"values": embedding::vector(&text, dims(step, body))}})
}

/// `:batchEmbedContents` response.
pub(crate) fn batch_embed(body: &Value, step: &Step) -> Value {
    let embeddings: Vec<Value> = body
        .get("requests")
        .and_then(Value::as_array)
        .map(|reqs| {
            reqs.iter()
                .map(|req| json!({"values": embedding::vector(&content_text(req.get("content")), dims(step, req))}))
                .collect()
        })
        .unwrap_or_default();
    json!({"embeddings": embeddings})
}

fn default_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

/// Gemini's (google.rpc.Status) error body for a status, with the step's overrides.
pub(crate) fn error(status: u16, kind: Option<&str>, message: Option<&str>, model: &str) -> Value {
    let default_message = match status {
        400 => "Request contains an invalid argument.".to_owned(),
        401 => "API key not valid. Please pass a valid API key.".to_owned(),
        403 => "The caller does not have permission".to_owned(),
        404 => format!("models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."),
        429 => "Resource has been exhausted (e.g. check quota).".to_owned(),
        503 => "The model is overloaded. Please try again later.".to_owned(),
        504 => "Deadline expired before operation could complete.".to_owned(),
        _ => "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting".to_owned(),
    };
    json!({"error": {
        "code": status,
        "message": message.map(str::to_owned).unwrap_or(default_message),
        "status": kind.unwrap_or(default_status(status))
    }})
}

/// Gemini's error for a missing or wrong key, with the `API_KEY_INVALID` reason clients key on.
pub(crate) fn unauthorized() -> Value {
    json!({"error": {
        "code": 401,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "UNAUTHENTICATED",
        "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"}
        }]
    }})
}
