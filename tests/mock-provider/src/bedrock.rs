//! AWS Bedrock runtime wire format: Converse, ConverseStream in the binary
//! `application/vnd.amazon.eventstream` framing (valid CRCs), InvokeModel embeddings
//! (Titan, Cohere), `{"message"}` errors typed by `x-amzn-ErrorType`, SigV4 checks.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::embedding;
use crate::reply::{Reply, split_arguments};
use crate::respond::{Payload, next_id};
use crate::script::{FinishReason, Step};
use crate::sse::Frame;

pub(crate) const STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

fn stop_reason(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "content_filtered",
    }
}

fn usage(r: &Reply<'_>) -> Value {
    json!({
        "inputTokens": r.prompt_tokens.saturating_sub(r.cached_tokens),
        "outputTokens": r.completion_tokens,
        "totalTokens": r.prompt_tokens + r.completion_tokens,
        "cacheReadInputTokens": r.cached_tokens,
        "cacheWriteInputTokens": 0
    })
}

fn tool_id(t: &crate::script::ToolCall) -> String {
    t.id.clone()
        .unwrap_or_else(|| format!("tooluse_{}", next_id()))
}

/// One event-stream message: prelude (lengths, CRC32), string headers, payload, CRC32.
pub(crate) fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut head = Vec::new();
    for (name, value) in headers {
        head.push(name.len() as u8);
        head.extend_from_slice(name.as_bytes());
        head.push(7);
        head.extend_from_slice(&(value.len() as u16).to_be_bytes());
        head.extend_from_slice(value.as_bytes());
    }
    let total = 12 + head.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    Bytes::from(out)
}

fn event(kind: &str, mut payload: Value) -> Bytes {
    // Bedrock pads every event with a `p` field against length side channels.
    payload["p"] = json!("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ");
    encode(
        &[
            (":event-type", kind),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

fn exception(kind: &str, message: &str) -> Bytes {
    encode(
        &[
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json!({"message": message}).to_string().as_bytes(),
    )
}

/// A Converse answer, or the ConverseStream event sequence when `stream` is set. A step's
/// `stream_exception` ends the stream with that exception after `cut_after` (default 1)
/// content events.
pub(crate) fn converse(r: &Reply<'_>, step: &Step, stream: bool) -> Payload {
    if !stream {
        let mut content: Vec<Value> = r.text.iter().map(|t| json!({"text": t})).collect();
        for t in r.tool_calls {
            content.push(json!({"toolUse": {"toolUseId": tool_id(t), "name": t.name, "input": t.arguments_value()}}));
        }
        return Payload::Json(json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason(r.finish),
            "usage": usage(r),
            "metrics": {"latencyMs": 42}
        }));
    }
    let mut frames = vec![Frame::meta(event(
        "messageStart",
        json!({"role": "assistant"}),
    ))];
    let mut index = 0;
    if r.text.is_some() {
        for piece in &r.chunks {
            frames.push(Frame::content(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"text": piece}}),
            )));
        }
        frames.push(Frame::meta(event(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        )));
        index += 1;
    }
    for t in r.tool_calls {
        frames.push(Frame::meta(event(
            "contentBlockStart",
            json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": tool_id(t), "name": t.name}}}),
        )));
        for piece in split_arguments(&t.arguments_value().to_string()) {
            frames.push(Frame::content(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}),
            )));
        }
        frames.push(Frame::meta(event(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        )));
        index += 1;
    }
    frames.push(Frame::terminal(event(
        "messageStop",
        json!({"stopReason": stop_reason(r.finish)}),
    )));
    frames.push(Frame::terminal(event(
        "metadata",
        json!({"usage": usage(r), "metrics": {"latencyMs": 42}}),
    )));
    if let Some(kind) = &step.stream_exception {
        let limit = step.cut_after.unwrap_or(1);
        let mut sent = 0;
        let keep = frames
            .iter()
            .position(|f| {
                let stop = f.terminal || (f.content && sent == limit);
                sent += usize::from(f.content);
                stop
            })
            .unwrap_or(frames.len());
        frames.truncate(keep);
        let message = step
            .error_message
            .as_deref()
            .unwrap_or("The model stream failed.");
        frames.push(Frame::terminal(exception(kind, message)));
    }
    let mut malformed = event("contentBlockDelta", json!({"contentBlockIndex": 0})).to_vec();
    let last = malformed.len() - 1;
    malformed[last] ^= 0xff;
    Payload::Sse {
        frames,
        malformed: Bytes::from(malformed),
    }
}

fn dims(step: &Step, body: &Value) -> usize {
    step.dimensions
        .or_else(|| {
            body.get("dimensions")
                .and_then(Value::as_u64)
                .map(|d| d as usize)
        })
        .unwrap_or(8)
}

/// InvokeModel for an embeddings model: Titan (`inputText`) or Cohere (`texts`).
pub(crate) fn invoke(body: &Value, step: &Step) -> Result<Value, String> {
    if let Some(text) = body.get("inputText").and_then(Value::as_str) {
        return Ok(json!({
            "embedding": embedding::vector(text, dims(step, body)),
            "inputTextTokenCount": text.chars().count().div_ceil(4)
        }));
    }
    if let Some(texts) = body.get("texts").and_then(Value::as_array) {
        let vectors: Vec<Value> = texts
            .iter()
            .map(|t| {
                json!(embedding::vector(
                    t.as_str().unwrap_or_default(),
                    dims(step, body)
                ))
            })
            .collect();
        return Ok(json!({
            "embeddings": vectors, "id": next_id(), "response_type": "embeddings_floats",
            "texts": texts
        }));
    }
    Err("Malformed input request: expected inputText or texts, please reformat your input and try again.".into())
}

/// The exception name and default message Bedrock sends with a status.
fn default_error(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (
            "ValidationException",
            "Malformed input request, please reformat your input and try again.",
        ),
        403 => (
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        404 => (
            "ResourceNotFoundException",
            "Could not resolve the foundation model from the provided model identifier.",
        ),
        408 => (
            "ModelTimeoutException",
            "Model has timed out in processing the request.",
        ),
        424 => ("ModelErrorException", "The model returned an error."),
        429 => (
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        503 => (
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
        ),
        _ => (
            "InternalServerException",
            "The server encountered an internal error.",
        ),
    }
}

/// Bedrock's error: the `x-amzn-ErrorType` value and the `{"message"}` body.
pub(crate) fn error(status: u16, kind: Option<&str>, message: Option<&str>) -> (String, Value) {
    let (default_kind, default_message) = default_error(status);
    let kind = kind.unwrap_or(default_kind);
    (
        format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        json!({"message": message.unwrap_or(default_message)}),
    )
}

/// Checks the SigV4 `Authorization` header is well formed, and names the access key id it
/// was signed with. The signature itself is not recomputed.
pub(crate) fn signed_key_id(
    authorization: Option<&str>,
    amz_date: Option<&str>,
) -> Result<String, String> {
    let auth = authorization.ok_or("Missing Authentication Token")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Authorization header requires the AWS4-HMAC-SHA256 algorithm.")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(", ") {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {
                return Err(format!(
                    "Authorization header has an unexpected part: {part}"
                ));
            }
        }
    }
    let (credential, signed, signature) = match (credential, signed, signature) {
        (Some(c), Some(s), Some(g)) => (c, s, g),
        _ => {
            return Err(
                "Authorization header requires Credential, SignedHeaders and Signature.".into(),
            );
        }
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let date = amz_date.ok_or("Authorization header requires an x-amz-date header.")?;
    let well_formed = scope.len() == 5
        && scope[3] == "bedrock"
        && scope[4] == "aws4_request"
        && date.len() == 16
        && date.starts_with(scope[1])
        && signed.split(';').any(|h| h == "host")
        && signed.split(';').any(|h| h == "x-amz-date")
        && signature.len() == 64
        && signature.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(format!("The request signature is malformed: {auth}"));
    }
    Ok(scope[0].to_owned())
}

/// `%3A` back to `:` in a model id taken from the path.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
