//! Request validation: bad input becomes a typed `bad_request` naming the field, before
//! any network call, so nothing is spent on a request that cannot succeed.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::types::{ChatRequest, Content, EmbeddingInput, EmbeddingRequest, Role};

/// Decodes a request from JSON-like data (what bindings receive), naming the field of any
/// wrong type or unknown value, e.g. `messages[0].role`.
pub fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let mut field = if path == "." { String::new() } else { path };
        if let Some(missing) = missing_field(&message) {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(missing);
        }
        Error::bad_request(field, message)
    })
}

/// serde reports a missing field at its parent's path; the field itself is in the message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

pub fn chat_request(request: &ChatRequest) -> Result<()> {
    if request.model.trim().is_empty() {
        return Err(Error::bad_request("model", "must name a model"));
    }
    if request.messages.is_empty() {
        return Err(Error::bad_request(
            "messages",
            "must contain at least one message",
        ));
    }
    for (i, message) in request.messages.iter().enumerate() {
        let has_text = message.content.as_ref().is_some_and(|c| match c {
            Content::Text(_) => true,
            Content::Parts(parts) => !parts.is_empty(),
        });
        match message.role {
            Role::Tool if message.tool_call_id.as_deref().is_none_or(str::is_empty) => {
                return Err(Error::bad_request(
                    format!("messages[{i}].tool_call_id"),
                    "a tool message must say which call it answers",
                ));
            }
            Role::Assistant
                if !has_text && message.tool_calls.as_ref().is_none_or(Vec::is_empty) =>
            {
                return Err(Error::bad_request(
                    format!("messages[{i}].content"),
                    "an assistant message needs content or tool_calls",
                ));
            }
            Role::System | Role::Developer | Role::User | Role::Tool if !has_text => {
                return Err(Error::bad_request(
                    format!("messages[{i}].content"),
                    "must not be empty",
                ));
            }
            _ => {}
        }
    }
    in_range("temperature", request.temperature, 0.0, 2.0)?;
    in_range("top_p", request.top_p, 0.0, 1.0)?;
    in_range("presence_penalty", request.presence_penalty, -2.0, 2.0)?;
    in_range("frequency_penalty", request.frequency_penalty, -2.0, 2.0)?;
    if request.max_tokens == Some(0) {
        return Err(Error::bad_request("max_tokens", "must be > 0"));
    }
    if request.max_completion_tokens == Some(0) {
        return Err(Error::bad_request("max_completion_tokens", "must be > 0"));
    }
    if request.n == Some(0) {
        return Err(Error::bad_request("n", "must be >= 1"));
    }
    let tools = request.tools.as_deref().unwrap_or_default();
    for (i, tool) in tools.iter().enumerate() {
        if !valid_function_name(&tool.function.name) {
            return Err(Error::bad_request(
                format!("tools[{i}].function.name"),
                "must be 1-64 characters of a-z, A-Z, 0-9, _ or -",
            ));
        }
    }
    if let Some(name) = request.tool_choice.as_ref().and_then(|c| c.function_name()) {
        if !tools.iter().any(|t| t.function.name == name) {
            return Err(Error::bad_request(
                "tool_choice",
                format!("names '{name}', which is not among the tools"),
            ));
        }
    }
    Ok(())
}

pub fn embedding_request(request: &EmbeddingRequest) -> Result<()> {
    if request.model.trim().is_empty() {
        return Err(Error::bad_request("model", "must name a model"));
    }
    let empty = match &request.input {
        EmbeddingInput::Text(s) => s.is_empty(),
        EmbeddingInput::Texts(v) => v.is_empty() || v.iter().any(String::is_empty),
        EmbeddingInput::Tokens(v) => v.is_empty(),
        EmbeddingInput::TokenBatches(v) => v.is_empty() || v.iter().any(Vec::is_empty),
    };
    if empty {
        return Err(Error::bad_request("input", "must not be empty"));
    }
    if request.dimensions == Some(0) {
        return Err(Error::bad_request("dimensions", "must be > 0"));
    }
    Ok(())
}

fn in_range(field: &str, value: Option<f64>, min: f64, max: f64) -> Result<()> {
    match value {
        Some(v) if !(v.is_finite() && (min..=max).contains(&v)) => Err(Error::bad_request(
            field,
            format!("must be between {min} and {max}"),
        )),
        _ => Ok(()),
    }
}

fn valid_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_of(value: serde_json::Value) -> String {
        let error = decode::<ChatRequest>(value)
            .and_then(|r| chat_request(&r))
            .expect_err("must be rejected");
        assert_eq!(error.code(), "bad_request");
        error.field().unwrap_or_default().to_owned()
    }

    #[test]
    fn names_the_field() {
        assert_eq!(field_of(json!({"model": "m", "messages": []})), "messages");
        assert_eq!(
            field_of(json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})),
            "messages[0].role"
        );
        assert_eq!(
            field_of(
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1})
            ),
            "max_tokens"
        );
        assert_eq!(
            field_of(
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"})
            ),
            "temperature"
        );
        assert_eq!(
            field_of(
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3.5})
            ),
            "temperature"
        );
        assert_eq!(
            field_of(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]})),
            "messages[0].tool_call_id"
        );
        assert_eq!(
            field_of(json!({"messages": [{"role": "user", "content": "x"}]})),
            "model"
        );
        assert_eq!(
            field_of(json!({"model": "m", "messages": [{"content": "x"}]})),
            "messages[0].role"
        );
    }

    #[test]
    fn accepts_a_full_request() {
        let request: ChatRequest = decode(json!({
            "model": "chat",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"}
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "temperature": 0, "seed": 7, "max_tokens": 16
        }))
        .unwrap();
        chat_request(&request).unwrap();
    }
}
