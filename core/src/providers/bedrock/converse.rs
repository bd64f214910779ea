//! The Converse API's shapes: an OpenAI request into a Converse body, a Converse answer
//! into an OpenAI response, and ConverseStream events into OpenAI chunks.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::errors::stream_exception;
use super::frames::EXCEPTION_PREFIX;
use crate::error::{Error, Result};
use crate::providers::event_stream::StreamDecoder;
use crate::providers::sse::SseEvent;
use crate::providers::turns::{BlockWriter, alternating_turns};
use crate::providers::{parse_data_url, parse_tool_arguments, unix_now};
use crate::types::{
    ChatChunk, ChatRequest, ChatResponse, Choice, Content, ContentPart, Delta, Extra, FinishReason,
    FunctionCall, FunctionCallDelta, Message, ResponseFormat, Role, ToolCall, ToolCallDelta,
    ToolChoice, Usage,
};

/// Builds a Converse (and ConverseStream) body. What Converse cannot express is refused
/// with `bad_request` naming the field; fields we do not model go to
/// `additionalModelRequestFields`, which Bedrock hands to the model as they are.
pub fn to_converse(request: &ChatRequest) -> Result<Value> {
    let mut body = Map::new();
    let (system, turns) = alternating_turns(
        &request.messages,
        &BlockWriter {
            user: content_blocks,
            assistant: assistant_blocks,
            tool_result: tool_result_block,
        },
    )?;
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    body.insert("messages".into(), messages.into());
    if !system.is_empty() {
        let system: Vec<Value> = system
            .into_iter()
            .map(|text| json!({"text": text}))
            .collect();
        body.insert("system".into(), system.into());
    }

    let mut inference = Map::new();
    if let Some(max) = request.output_token_limit() {
        inference.insert("maxTokens".into(), max.into());
    }
    if let Some(t) = request.temperature {
        inference.insert("temperature".into(), t.into());
    }
    if let Some(p) = request.top_p {
        inference.insert("topP".into(), p.into());
    }
    let stop = request.stop_sequences();
    if !stop.is_empty() {
        inference.insert("stopSequences".into(), stop.into());
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), inference.into());
    }
    if let Some(tools) = tool_config(request)? {
        body.insert("toolConfig".into(), tools);
    }
    if request.n.is_some_and(|n| n > 1) {
        return Err(Error::bad_request(
            "n",
            "Bedrock Converse returns one choice per request; n > 1 is not supported",
        ));
    }
    if !matches!(request.response_format, None | Some(ResponseFormat::Text)) {
        return Err(Error::bad_request(
            "response_format",
            "Bedrock Converse has no response format; describe the JSON in a tool instead",
        ));
    }
    if !request.extra.is_empty() {
        body.insert(
            "additionalModelRequestFields".into(),
            Value::Object(request.extra.clone()),
        );
    }
    Ok(Value::Object(body))
}

fn tool_config(request: &ChatRequest) -> Result<Option<Value>> {
    let Some(tools) = &request.tools else {
        return Ok(None);
    };
    let specs = tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            if tool.kind != "function" {
                return Err(Error::bad_request(
                    format!("tools[{i}].type"),
                    format!("Bedrock only takes function tools, not `{}`", tool.kind),
                ));
            }
            let f = &tool.function;
            let mut spec = Map::new();
            spec.insert("name".into(), f.name.clone().into());
            if let Some(description) = &f.description {
                spec.insert("description".into(), description.clone().into());
            }
            let schema = f
                .parameters
                .clone()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            spec.insert("inputSchema".into(), json!({"json": schema}));
            Ok(json!({"toolSpec": spec}))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut config = json!({"tools": specs});
    match &request.tool_choice {
        None | Some(ToolChoice::Auto) => {}
        Some(ToolChoice::Required) => config["toolChoice"] = json!({"any": {}}),
        Some(ToolChoice::Function(named)) => {
            config["toolChoice"] = json!({"tool": {"name": named.function.name}});
        }
        // Converse has no "none": the tools stay declared (past calls need them) and the
        // model is left to answer in text.
        Some(ToolChoice::None) => tracing::debug!("tool_choice none has no Converse form"),
    }
    Ok(Some(config))
}

fn content_blocks(content: Option<&Content>, i: usize) -> Result<Vec<Value>> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(vec![json!({"text": text})]),
        Some(Content::Parts(parts)) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for (k, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => blocks.push(json!({"text": text})),
                    ContentPart::ImageUrl { image_url } => {
                        let field = format!("messages[{i}].content[{k}].image_url.url");
                        let (mime, data) = parse_data_url(&image_url.url).ok_or_else(|| {
                            Error::bad_request(field, "Bedrock takes images as base64 data: URLs")
                        })?;
                        let format = mime.strip_prefix("image/").unwrap_or(mime);
                        blocks
                            .push(json!({"image": {"format": format, "source": {"bytes": data}}}));
                    }
                    // Unmodelled parts may be Converse-native blocks (`document`...).
                    ContentPart::Other(value) => blocks.push(value.clone()),
                }
            }
            Ok(blocks)
        }
    }
}

fn assistant_blocks(message: &Message, i: usize) -> Result<Vec<Value>> {
    let mut blocks = content_blocks(message.content.as_ref(), i)?;
    for (j, call) in message.tool_calls.iter().flatten().enumerate() {
        let input = parse_tool_arguments(
            &call.function.arguments,
            format!("messages[{i}].tool_calls[{j}].function.arguments"),
        )?;
        blocks.push(
            json!({"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": input}}),
        );
    }
    Ok(blocks)
}

fn tool_result_block(message: &Message, i: usize) -> Result<Value> {
    let id = message.tool_call_id.as_deref().ok_or_else(|| {
        Error::bad_request(
            format!("messages[{i}].tool_call_id"),
            "a tool message must name the call it answers",
        )
    })?;
    let mut content = content_blocks(message.content.as_ref(), i)?;
    if content.is_empty() {
        content.push(json!({"text": ""}));
    }
    Ok(json!({"toolResult": {"toolUseId": id, "content": content}}))
}

/// A Converse answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    output: ConverseOutput,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: ConverseUsage,
}

#[derive(Debug, Deserialize)]
struct ConverseOutput {
    message: ConverseMessage,
}

#[derive(Debug, Deserialize)]
struct ConverseMessage {
    #[serde(default)]
    content: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_write_input_tokens: u64,
}

impl ConverseUsage {
    /// OpenAI's `prompt_tokens` counts every prompt token; Converse reports cache reads
    /// and writes apart, so they are added back (reads reported as cached).
    fn to_usage(&self) -> Usage {
        let prompt =
            self.input_tokens + self.cache_read_input_tokens + self.cache_write_input_tokens;
        Usage::new(prompt, self.output_tokens).with_cached_tokens(self.cache_read_input_tokens)
    }
}

fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn from_converse(response: ConverseResponse, model: &str, id: String) -> ChatResponse {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in &response.output.message.content {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            text.push_str(t);
        } else if let Some(call) = block.get("toolUse") {
            tool_calls.push(ToolCall {
                id: str_at(call, "/toolUseId").to_owned(),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: str_at(call, "/name").to_owned(),
                    arguments: call
                        .get("input")
                        .map(Value::to_string)
                        .unwrap_or_else(|| "{}".to_owned()),
                },
            });
        } else {
            tracing::debug!(?block, "Converse content block not translated");
        }
    }
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(Content::Text(text))
    };
    ChatResponse {
        id,
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content,
                name: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                tool_call_id: None,
                refusal: None,
                extra: Extra::new(),
            },
            finish_reason: response.stop_reason.as_deref().map(finish_reason),
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: Some(response.usage.to_usage()),
        system_fingerprint: None,
        extra: Extra::new(),
    }
}

/// Turns ConverseStream events into OpenAI chunks: a role chunk, text and tool-call
/// deltas, the finish chunk at `messageStop`, and the usage chunk at `metadata`, the
/// stream's last event. An exception event is an error, never an end.
pub struct ConverseDecoder {
    id: String,
    model: String,
    created: u64,
    role_sent: bool,
    /// Converse block index → ordinal of the tool call among the tool-use blocks.
    tool_blocks: HashMap<u64, u32>,
    stopped: bool,
    done: bool,
}

impl ConverseDecoder {
    pub fn new(model: &str, id: String) -> Self {
        ConverseDecoder {
            id,
            model: model.to_owned(),
            created: unix_now(),
            role_sent: false,
            tool_blocks: HashMap::new(),
            stopped: false,
            done: false,
        }
    }

    fn chunk(&self) -> ChatChunk {
        ChatChunk::new(self.id.clone(), self.model.clone(), self.created)
    }

    /// The opening chunk (role, empty content), once.
    fn push_role(&mut self, out: &mut Vec<ChatChunk>) {
        if !self.role_sent {
            self.role_sent = true;
            let role = Delta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..Delta::default()
            };
            out.push(self.chunk().with_delta(0, role, None));
        }
    }

    fn push(&mut self, delta: Delta, finish: Option<FinishReason>, out: &mut Vec<ChatChunk>) {
        self.push_role(out);
        out.push(self.chunk().with_delta(0, delta, finish));
    }

    fn tool_delta(ordinal: u32, call: ToolCallDelta) -> Delta {
        Delta {
            tool_calls: Some(vec![ToolCallDelta {
                index: ordinal,
                ..call
            }]),
            ..Delta::default()
        }
    }
}

impl StreamDecoder for ConverseDecoder {
    fn decode(&mut self, event: SseEvent, out: &mut Vec<ChatChunk>) -> Result<()> {
        let name = event.event.unwrap_or_default();
        if let Some(kind) = name.strip_prefix(EXCEPTION_PREFIX) {
            return Err(stream_exception(kind, &event.data));
        }
        let payload: Value = serde_json::from_str(&event.data)
            .map_err(|e| Error::malformed(200, format!("unreadable stream event: {e}")))?;
        let index = payload
            .get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        match name.as_str() {
            "messageStart" => self.push_role(out),
            "contentBlockStart" => {
                if let Some(start) = payload.pointer("/start/toolUse") {
                    let ordinal = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.insert(index, ordinal);
                    let call = ToolCallDelta {
                        id: Some(str_at(start, "/toolUseId").to_owned()),
                        kind: Some("function".to_owned()),
                        function: Some(FunctionCallDelta {
                            name: Some(str_at(start, "/name").to_owned()),
                            arguments: Some(String::new()),
                        }),
                        ..ToolCallDelta::default()
                    };
                    self.push(Self::tool_delta(ordinal, call), None, out);
                }
            }
            "contentBlockDelta" => {
                if let Some(text) = payload.pointer("/delta/text").and_then(Value::as_str) {
                    if !text.is_empty() {
                        self.push(Delta::text(text), None, out);
                    }
                } else if let Some(piece) = payload
                    .pointer("/delta/toolUse/input")
                    .and_then(Value::as_str)
                    && let Some(&ordinal) = self.tool_blocks.get(&index)
                {
                    let call = ToolCallDelta {
                        function: Some(FunctionCallDelta {
                            name: None,
                            arguments: Some(piece.to_owned()),
                        }),
                        ..ToolCallDelta::default()
                    };
                    self.push(Self::tool_delta(ordinal, call), None, out);
                }
            }
            "messageStop" => {
                let reason = finish_reason(str_at(&payload, "/stopReason"));
                self.push(Delta::default(), Some(reason), out);
                self.stopped = true;
            }
            "metadata" => {
                if !self.stopped {
                    return Err(Error::malformed(200, "stream metadata before messageStop"));
                }
                let usage: ConverseUsage = payload
                    .get("usage")
                    .cloned()
                    .and_then(|u| serde_json::from_value(u).ok())
                    .unwrap_or_default();
                let mut chunk = self.chunk();
                chunk.usage = Some(usage.to_usage());
                out.push(chunk);
                self.done = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_maps_system_tools_and_tool_results() {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "m",
            "max_tokens": 50,
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "sunny"}
            ],
            "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
            "tool_choice": "required"
        }))
        .unwrap();
        let body = to_converse(&request).unwrap();
        assert_eq!(body["system"], json!([{"text": "Be brief."}]));
        assert_eq!(
            body["inferenceConfig"],
            json!({"maxTokens": 50, "temperature": 0.2})
        );
        assert_eq!(
            body["messages"][1]["content"][0]["toolUse"]["input"],
            json!({"city": "Paris"})
        );
        assert_eq!(
            body["messages"][2]["content"][0]["toolResult"]["toolUseId"],
            "t1"
        );
        assert_eq!(body["toolConfig"]["toolChoice"], json!({"any": {}}));
        assert_eq!(
            body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["type"],
            "object"
        );
    }

    #[test]
    fn stream_exception_is_an_error_not_an_end() {
        let mut decoder = ConverseDecoder::new("m", "id".into());
        let mut out = Vec::new();
        decoder
            .decode(
                SseEvent {
                    event: Some("contentBlockDelta".into()),
                    data: r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#.into(),
                },
                &mut out,
            )
            .unwrap();
        let e = decoder
            .decode(
                SseEvent {
                    event: Some("exception:throttlingException".into()),
                    data: r#"{"message":"slow"}"#.into(),
                },
                &mut out,
            )
            .unwrap_err();
        assert_eq!(e.code(), "rate_limited");
        assert!(!decoder.is_done());
    }
}
