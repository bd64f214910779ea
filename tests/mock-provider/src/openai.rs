//! OpenAI (and Azure OpenAI) wire format: chat completions, chunks, embeddings, errors.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::embedding;
use crate::reply::{Reply, split_arguments};
use crate::respond::{Payload, next_id, now_secs};
use crate::script::{FinishReason, Step};
use crate::sse::{self, Frame};

fn finish(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

fn usage(r: &Reply<'_>) -> Value {
    json!({
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "total_tokens": r.prompt_tokens + r.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": r.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
        }
    })
}

fn tool_call_ids(r: &Reply<'_>) -> Vec<String> {
    r.tool_calls
        .iter()
        .map(|t| {
            t.id.clone()
                .unwrap_or_else(|| format!("call_{}", next_id()))
        })
        .collect()
}

/// Where a stream carries its usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamUsage {
    /// Nowhere (no `stream_options.include_usage`).
    Off,
    /// OpenAI's: a last chunk with `choices: []` and `usage`.
    LastChunk,
    /// Moonshot's: `choices[0].usage` of the finishing chunk.
    InChoice,
}

/// A chat completion, or its chunk stream when `stream` is set.
pub(crate) fn chat(r: &Reply<'_>, stream: bool, stream_usage: StreamUsage) -> Payload {
    let include_usage = stream_usage == StreamUsage::LastChunk;
    let id = format!("chatcmpl-{}", next_id());
    let created = now_secs();
    let ids = tool_call_ids(r);
    if !stream {
        let mut message = json!({"role": "assistant", "content": r.text, "refusal": null});
        if !r.tool_calls.is_empty() {
            message["tool_calls"] = r
                .tool_calls
                .iter()
                .zip(&ids)
                .map(|(t, id)| {
                    json!({"id": id, "type": "function",
                           "function": {"name": t.name, "arguments": t.arguments_text()}})
                })
                .collect();
        }
        return Payload::Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": r.model,
            "choices": [{"index": 0, "message": message, "logprobs": null,
                         "finish_reason": finish(r.finish)}],
            "usage": usage(r),
            "service_tier": "default",
            "system_fingerprint": "fp_mock"
        }));
    }

    let chunk = |delta: Value, finish_reason: Option<&str>| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": r.model,
            "service_tier": "default", "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        sse::data(&c)
    };
    let mut frames = vec![Frame::meta(chunk(
        json!({"role": "assistant", "content": if r.text.is_some() { json!("") } else { Value::Null }, "refusal": null}),
        None,
    ))];
    for piece in &r.chunks {
        frames.push(Frame::content(chunk(json!({"content": piece}), None)));
    }
    for (index, (t, id)) in r.tool_calls.iter().zip(&ids).enumerate() {
        frames.push(Frame::content(chunk(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                   "function": {"name": t.name, "arguments": ""}}]}),
            None,
        )));
        for piece in split_arguments(&t.arguments_text()) {
            frames.push(Frame::content(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                None,
            )));
        }
    }
    let mut last = chunk(json!({}), Some(finish(r.finish)));
    if stream_usage == StreamUsage::InChoice {
        last = sse::data(&json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": r.model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": finish(r.finish),
                         "usage": usage(r)}]
        }));
    }
    frames.push(Frame::terminal(last));
    if include_usage {
        frames.push(Frame::terminal(sse::data(&json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": r.model,
            "service_tier": "default", "system_fingerprint": "fp_mock",
            "choices": [], "usage": usage(r)
        }))));
    }
    frames.push(Frame::terminal(Bytes::from_static(b"data: [DONE]\n\n")));
    Payload::Sse {
        frames,
        malformed: Bytes::from_static(
            b"data: {\"id\": \"chatcmpl-malformed\", \"choices\": [{\"delta\": \n\n",
        ),
    }
}

/// The texts of an embeddings `input` (string, strings, token array or token arrays).
fn inputs(body: &Value) -> Result<Vec<String>, String> {
    let tokens = |v: &Vec<Value>| v.iter().map(Value::to_string).collect::<Vec<_>>().join(" ");
    match body.get("input") {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => Ok(vec![tokens(items)]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                Value::Array(t) => Ok(tokens(t)),
                _ => Err("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.".to_owned()),
            })
            .collect(),
        _ => Err("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.".to_owned()),
    }
}

/// An embeddings list; `Err` is the 400 message for a bad `input`.
pub(crate) fn embeddings(body: &Value, step: &Step, model: &str) -> Result<Value, String> {
    let texts = inputs(body)?;
    let dims = step
        .dimensions
        .or_else(|| {
            body.get("dimensions")
                .and_then(Value::as_u64)
                .map(|d| d as usize)
        })
        .unwrap_or(8)
        .max(1);
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let tokens: u64 = texts
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum();
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let v = embedding::vector(t, dims);
            let embedding = if base64 {
                json!(embedding::base64_f32(&v))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
}

/// `GET /v1/models`: the script's model names (or a few stock ones for an empty script).
pub(crate) fn models<'a>(names: impl Iterator<Item = &'a str>) -> Value {
    let mut names: Vec<&str> = names.filter(|n| *n != "*").collect();
    if names.is_empty() {
        names = vec!["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"];
    }
    let data: Vec<Value> = names
        .iter()
        .map(|n| json!({"id": n, "object": "model", "created": 1_700_000_000, "owned_by": "switchyard-mock"}))
        .collect();
    json!({"object": "list", "data": data})
}

/// OpenAI's error body for a status, with the step's overrides.
/// A strict server's refusal of a field it does not know: OpenAI's shape names it in
/// `param`; Azure AI's (`azure_ai`) answers 422 with the field in `details[].loc`.
pub(crate) fn unknown_field(field: &str, azure_ai: bool) -> (u16, Value) {
    if azure_ai {
        return (
            422,
            json!({"error": {"code": "Invalid input", "status": 422,
                "message": "invalid input error",
                "details": [{"type": "extra_forbidden", "loc": ["body", field],
                             "msg": "Extra inputs are not permitted"}]}}),
        );
    }
    (
        400,
        json!({"error": {"message": format!("Extra inputs are not permitted: {field}"),
            "type": "invalid_request_error", "param": field, "code": "extra_forbidden"}}),
    )
}

pub(crate) fn error(status: u16, code: Option<&str>, message: Option<&str>, model: &str) -> Value {
    let (kind, default_code, default_message): (&str, Option<&str>, String) = match status {
        400 => ("invalid_request_error", None, "Invalid request.".into()),
        401 => (
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.".into(),
        ),
        403 => (
            "request_forbidden",
            Some("unsupported_country_region_territory"),
            "Country, region, or territory not supported".into(),
        ),
        404 => (
            "invalid_request_error",
            Some("model_not_found"),
            format!("The model `{model}` does not exist or you do not have access to it."),
        ),
        429 => (
            "requests",
            Some("rate_limit_exceeded"),
            format!(
                "Rate limit reached for {model} in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."
            ),
        ),
        500 => (
            "server_error",
            None,
            "The server had an error while processing your request. Sorry about that!".into(),
        ),
        503 => (
            "server_error",
            None,
            "The engine is currently overloaded, please try again later.".into(),
        ),
        s if s >= 500 => (
            "server_error",
            None,
            "The server had an error while processing your request. Sorry about that!".into(),
        ),
        _ => ("invalid_request_error", None, "Invalid request.".into()),
    };
    let code = code.or(default_code);
    let kind = match code {
        Some("insufficient_quota") => "insufficient_quota",
        Some("context_length_exceeded" | "content_filter") => "invalid_request_error",
        _ => kind,
    };
    let param = match code {
        Some("context_length_exceeded") => json!("messages"),
        Some("content_filter") => json!("prompt"),
        _ => Value::Null,
    };
    json!({"error": {
        "message": message.map(str::to_owned).unwrap_or(default_message),
        "type": kind,
        "param": param,
        "code": code
    }})
}

/// OpenAI's 401 for a missing or wrong bearer key.
pub(crate) fn unauthorized(presented: Option<&str>) -> Value {
    match presented {
        None => json!({"error": {
            "message": "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error", "param": null, "code": null
        }}),
        Some(key) => json!({"error": {
            "message": format!("Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.", redact(key)),
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"
        }}),
    }
}

/// Azure's 401 for a missing or wrong `api-key`.
pub(crate) fn azure_unauthorized() -> Value {
    json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}})
}

/// Azure's 404 when `api-version` is missing or the route is unknown.
pub(crate) fn azure_not_found() -> Value {
    json!({"error": {"code": "404", "message": "Resource not found"}})
}

/// OpenAI shows only the key's ends in error messages.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}
