//! Real payload samples, in each provider's documented shape, decoded into our OpenAI-shaped
//! wire types and re-encoded: fields we do not model must survive the trip, so a provider's
//! additions (`service_tier`, `obfuscation`, new usage details...) reach the caller intact.
//!
//! The Anthropic and Gemini samples in `fixtures/` are translated by the adapters' own unit
//! tests (their translators are private); here we check they stay valid documented shapes.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchyard::types::{ChatChunk, ChatRequest, ChatResponse, FinishReason, Role};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Explicit `null` and an absent field mean the same on OpenAI's wire, and our types omit
/// `None`; everything else must match exactly.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Decodes `name` as `T`, re-encodes it, and requires the two JSON values to be equal.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let original = fixture(name);
    let decoded: T = serde_json::from_value(original.clone())
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    let encoded =
        serde_json::to_value(&decoded).unwrap_or_else(|e| panic!("{name} does not encode: {e}"));
    assert_eq!(
        without_nulls(&encoded),
        without_nulls(&original),
        "{name} did not round-trip"
    );
    decoded
}

#[test]
fn openai_response_with_tool_calls_round_trips() {
    let response: ChatResponse = round_trip("openai_chat_response_tool_calls.json");
    assert_eq!(response.extra["service_tier"], "default");
    let choice = &response.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    assert!(choice.message.extra.contains_key("annotations"));
    let call = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "get_weather");
    let usage = response.usage.as_ref().unwrap();
    assert_eq!(usage.total_tokens, 99);
    let details = usage.completion_tokens_details.as_ref().unwrap();
    assert!(details.extra.contains_key("accepted_prediction_tokens"));
}

#[test]
fn openai_stream_chunks_round_trip() {
    let chunk: ChatChunk = round_trip("openai_chat_chunk.json");
    assert_eq!(chunk.extra["obfuscation"], "x9Kq");
    assert_eq!(chunk.extra["service_tier"], "default");
    let call = &chunk.choices[0].delta.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.id.as_deref(), Some("call_Ws2mUhfW9jqAeVZTlI4HHOAk"));

    let usage: ChatChunk = round_trip("openai_chat_usage_chunk.json");
    assert!(usage.choices.is_empty());
    assert_eq!(usage.usage.as_ref().unwrap().cached_tokens(), 64);
}

#[test]
fn openai_request_with_unmodelled_fields_round_trips() {
    let request: ChatRequest = round_trip("openai_chat_request.json");
    assert_eq!(request.messages[0].role, Role::Developer);
    assert_eq!(request.extra["reasoning_effort"], "low");
    assert!(request.extra.contains_key("prediction"));
    assert_eq!(request.output_token_limit(), Some(300));
}

#[test]
fn a_dropped_field_would_be_caught() {
    // Guard on the comparison itself: losing one unknown field must fail it.
    let original = fixture("openai_chat_response_tool_calls.json");
    let mut tampered = original.clone();
    tampered.as_object_mut().unwrap().remove("service_tier");
    assert_ne!(without_nulls(&tampered), without_nulls(&original));
}

#[test]
fn provider_samples_keep_their_documented_shape() {
    let anthropic = fixture("anthropic_message.json");
    assert_eq!(anthropic["type"], "message");
    assert_eq!(anthropic["content"][1]["type"], "tool_use");
    assert!(anthropic["usage"]["cache_read_input_tokens"].is_u64());

    let gemini = fixture("gemini_response.json");
    assert!(gemini["candidates"][0]["content"]["parts"][1]["functionCall"].is_object());
    assert_eq!(gemini["candidates"][0]["finishReason"], "STOP");
    assert!(gemini["usageMetadata"]["totalTokenCount"].is_u64());
}
