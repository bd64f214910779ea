//! Anthropic Messages API wire format: `message` objects, the SSE event sequence, errors.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::reply::{Reply, split_arguments};
use crate::respond::{Payload, next_id};
use crate::script::FinishReason;
use crate::sse::{self, Frame};

fn stop_reason(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
    }
}

fn tool_ids(r: &Reply<'_>) -> Vec<String> {
    r.tool_calls
        .iter()
        .map(|t| {
            t.id.clone()
                .unwrap_or_else(|| format!("toolu_{}", next_id()))
        })
        .collect()
}

/// A `message` object, or the Messages SSE event sequence when `stream` is set.
pub(crate) fn messages(r: &Reply<'_>, stream: bool) -> Payload {
    let id = format!("msg_{}", next_id());
    let ids = tool_ids(r);
    if !stream {
        let mut content: Vec<Value> = Vec::new();
        if let Some(text) = &r.text {
            content.push(json!({"type": "text", "text": text}));
        }
        for (t, id) in r.tool_calls.iter().zip(&ids) {
            content.push(
                json!({"type": "tool_use", "id": id, "name": t.name, "input": t.arguments_value()}),
            );
        }
        return Payload::Json(json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": r.model,
            "content": content,
            "stop_reason": stop_reason(r.finish),
            "stop_sequence": null,
            // Anthropic counts cache reads apart from `input_tokens`; the script's
            // `prompt_tokens` is the whole prompt, as the other providers report it.
            "usage": {
                "input_tokens": r.prompt_tokens.saturating_sub(r.cached_tokens),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": r.cached_tokens,
                "output_tokens": r.completion_tokens,
                "service_tier": "standard"
            }
        }));
    }

    let mut frames = vec![Frame::meta(sse::event(
        "message_start",
        &json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": r.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": r.prompt_tokens.saturating_sub(r.cached_tokens), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": r.cached_tokens, "output_tokens": 1,
                      "service_tier": "standard"}
        }}),
    ))];
    let mut index = 0;
    let mut pinged = false;
    let mut ping = |frames: &mut Vec<Frame>| {
        if !pinged {
            frames.push(Frame::meta(sse::event("ping", &json!({"type": "ping"}))));
            pinged = true;
        }
    };
    if let Some(_text) = &r.text {
        frames.push(Frame::meta(sse::event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        )));
        ping(&mut frames);
        for piece in &r.chunks {
            frames.push(Frame::content(sse::event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            )));
        }
        frames.push(Frame::meta(sse::event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        )));
        index += 1;
    }
    for (t, id) in r.tool_calls.iter().zip(&ids) {
        frames.push(Frame::meta(sse::event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index,
                    "content_block": {"type": "tool_use", "id": id, "name": t.name, "input": {}}}),
        )));
        ping(&mut frames);
        let args = t.arguments_value().to_string();
        for piece in split_arguments(&args) {
            frames.push(Frame::content(sse::event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece}}),
            )));
        }
        frames.push(Frame::meta(sse::event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        )));
        index += 1;
    }
    frames.push(Frame::terminal(sse::event(
        "message_delta",
        &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason(r.finish), "stop_sequence": null},
                "usage": {"output_tokens": r.completion_tokens}}),
    )));
    frames.push(Frame::terminal(sse::event(
        "message_stop",
        &json!({"type": "message_stop"}),
    )));
    Payload::Sse {
        frames,
        malformed: Bytes::from_static(
            b"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": \n\n",
        ),
    }
}

/// Anthropic's error body for a status, with the step's overrides.
pub(crate) fn error(status: u16, kind: Option<&str>, message: Option<&str>, model: &str) -> Value {
    let (default_kind, default_message): (&str, String) = match status {
        400 => ("invalid_request_error", "Invalid request".into()),
        401 => ("authentication_error", "invalid x-api-key".into()),
        402 => ("billing_error", "Your credit balance is too low to access the Anthropic API.".into()),
        403 => ("permission_error", "Your API key does not have permission to use the specified resource.".into()),
        404 => ("not_found_error", format!("model: {model}")),
        413 => ("request_too_large", "Request exceeds the maximum allowed number of bytes.".into()),
        429 => ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.".into()),
        504 => ("timeout_error", "Request timed out".into()),
        529 => ("overloaded_error", "Overloaded".into()),
        s if s >= 500 => ("api_error", "Internal server error".into()),
        _ => ("invalid_request_error", "Invalid request".into()),
    };
    json!({
        "type": "error",
        "error": {"type": kind.unwrap_or(default_kind),
                  "message": message.map(str::to_owned).unwrap_or(default_message)},
        "request_id": format!("req_{}", next_id())
    })
}
