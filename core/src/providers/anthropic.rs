//! Anthropic's Messages API (`POST /messages`). Requests arrive in OpenAI's shape and are
//! translated both ways: system prompts lifted to `system`, strictly alternating turns,
//! `tool_use`/`tool_result` blocks, and Anthropic's own SSE event protocol.

use std::collections::HashMap;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::event_stream::{StreamDecoder, StreamOrigin, chunk_stream};
use super::http::{Exchange, ExtraHeaders, credential};
use super::sse::SseEvent;
use super::turns::{BlockWriter, alternating_turns};
use super::{
    ChatStream, Provider, Target, parse_data_url, parse_tool_arguments, retry_after::retry_after,
    unix_now,
};
use crate::config::{ProviderConfig, ProviderKind, Secret};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{
    ChatChunk, ChatRequest, ChatResponse, Choice, Content, ContentPart, Delta, EmbeddingRequest,
    EmbeddingResponse, Extra, FinishReason, FunctionCall, FunctionCallDelta, Message,
    ResponseFormat, Role, ToolCall, ToolCallDelta, ToolChoice, Usage,
};

/// The `anthropic-version` header when the config names none.
const DEFAULT_API_VERSION: &str = "2023-06-01";

/// Anthropic requires `max_tokens`; OpenAI callers usually omit it. 4096 fits every current
/// Claude model's output limit, so a request without a cap never fails for lack of one.
const DEFAULT_MAX_TOKENS: u32 = 4096;

#[derive(Debug)]
pub struct AnthropicProvider {
    name: String,
    base_url: String,
    api_key: Option<Secret>,
    api_version: String,
    headers: ExtraHeaders,
    client: Client,
}

impl AnthropicProvider {
    pub fn new(name: &str, config: &ProviderConfig, client: Client) -> Self {
        AnthropicProvider {
            name: name.to_owned(),
            base_url: config.resolved_base_url(),
            api_key: config.api_key.clone(),
            api_version: config
                .api_version
                .clone()
                .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned()),
            headers: ExtraHeaders::new(&config.headers),
            client,
        }
    }

    fn post(&self) -> Result<RequestBuilder> {
        let builder = self
            .client
            .post(format!("{}/messages", self.base_url))
            .header("anthropic-version", self.api_version.as_str())
            .header("content-type", "application/json");
        let builder = match credential(&self.name, self.api_key.as_ref())? {
            Some(key) => builder.header("x-api-key", key),
            None => builder,
        };
        Ok(self.headers.apply(builder))
    }

    fn exchange<'a>(&'a self, target: &'a Target<'a>) -> Exchange<'a> {
        Exchange {
            provider: &self.name,
            target,
            map_error,
            request_id_header: "request-id",
        }
    }
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    async fn chat(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let body = to_anthropic(request, target.model, false)?;
        let message: AnthropicMessage =
            self.exchange(target).json(self.post()?.json(&body)).await?;
        Ok(from_anthropic(message))
    }

    async fn chat_stream(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatStream> {
        let body = to_anthropic(request, target.model, true)?;
        let exchange = self.exchange(target);
        let response = exchange.stream(self.post()?.json(&body)).await?;
        let origin = StreamOrigin {
            provider: self.name.clone(),
            deployment: target.deployment.to_owned(),
            request_id: exchange.request_id(response.headers()),
        };
        Ok(chunk_stream(
            response,
            AnthropicDecoder::new(target.model),
            origin,
            target.timeout,
        ))
    }

    async fn embed(
        &self,
        _request: &EmbeddingRequest,
        _target: &Target<'_>,
    ) -> Result<EmbeddingResponse> {
        Err(Error::bad_request(
            "model",
            "Anthropic has no embeddings API; route embeddings to another provider",
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Request translation
// ---------------------------------------------------------------------------------------

/// Builds the Messages API body. Fails with `bad_request` naming the field for what
/// Anthropic cannot express (several choices, `json_object` without a schema, malformed
/// tool arguments or image URLs).
pub(super) fn to_anthropic(request: &ChatRequest, model: &str, stream: bool) -> Result<Value> {
    let mut body = Map::new();
    body.insert("model".into(), model.into());

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
        .map(|(role, mut blocks)| {
            // In a user turn, tool results must come before any other content.
            if role == "user" {
                blocks
                    .sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
            }
            json!({"role": role, "content": blocks})
        })
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), system.join("\n\n").into());
    }
    body.insert("messages".into(), messages.into());
    body.insert(
        "max_tokens".into(),
        request
            .output_token_limit()
            .unwrap_or(DEFAULT_MAX_TOKENS)
            .into(),
    );

    if let Some(tools) = &request.tools {
        let tools = tools
            .iter()
            .enumerate()
            .map(|(i, tool)| {
                if tool.kind != "function" {
                    return Err(Error::bad_request(
                        format!("tools[{i}].type"),
                        format!("Anthropic only takes function tools, not `{}`", tool.kind),
                    ));
                }
                let f = &tool.function;
                let mut out = Map::new();
                out.insert("name".into(), f.name.clone().into());
                if let Some(description) = &f.description {
                    out.insert("description".into(), description.clone().into());
                }
                out.insert(
                    "input_schema".into(),
                    f.parameters
                        .clone()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                );
                if let Some(strict) = f.strict {
                    out.insert("strict".into(), strict.into());
                }
                Ok(Value::Object(out))
            })
            .collect::<Result<Vec<_>>>()?;
        body.insert("tools".into(), tools.into());
    }
    let mut tool_choice = request.tool_choice.as_ref().map(|choice| match choice {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Function(named) => json!({"type": "tool", "name": named.function.name}),
    });
    if request.parallel_tool_calls == Some(false) && request.tools.is_some() {
        let choice = tool_choice.get_or_insert_with(|| json!({"type": "auto"}));
        if choice.get("type").and_then(Value::as_str) != Some("none") {
            choice["disable_parallel_tool_use"] = true.into();
        }
    }
    if let Some(choice) = tool_choice {
        body.insert("tool_choice".into(), choice);
    }

    let stop = request.stop_sequences();
    if !stop.is_empty() {
        body.insert("stop_sequences".into(), stop.into());
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = request.top_p {
        body.insert("top_p".into(), p.into());
    }
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    if request.n.is_some_and(|n| n > 1) {
        return Err(Error::bad_request(
            "n",
            "Anthropic returns one choice per request; n > 1 is not supported",
        ));
    }
    if request.seed.is_some()
        || request.presence_penalty.is_some()
        || request.frequency_penalty.is_some()
    {
        tracing::debug!("seed and penalties have no Anthropic equivalent; dropped");
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        // Structured outputs: `output_config.format` constrains the answer to the schema.
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.clone().ok_or_else(|| {
                Error::bad_request(
                    "response_format.json_schema.schema",
                    "a json_schema response format needs a schema",
                )
            })?;
            body.insert(
                "output_config".into(),
                json!({"format": {"type": "json_schema", "schema": schema}}),
            );
        }
        // Anthropic can only constrain output to a schema; "any JSON object" would be a
        // prompt-level hope, so we refuse rather than silently promise it.
        Some(ResponseFormat::JsonObject) => {
            return Err(Error::bad_request(
                "response_format",
                "Anthropic cannot force a bare JSON object; use a json_schema response format",
            ));
        }
    }
    if stream {
        body.insert("stream".into(), true.into());
    }
    // Fields we do not model (`thinking`, `top_k`, `service_tier`...) pass through; objects
    // we also set (e.g. `output_config`) are merged, the caller's keys winning.
    for (key, value) in &request.extra {
        match (body.get_mut(key), value) {
            (Some(Value::Object(ours)), Value::Object(theirs)) => {
                ours.extend(theirs.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            _ => {
                body.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(Value::Object(body))
}

/// User content as Anthropic blocks. Empty text is dropped: Anthropic rejects empty blocks.
fn content_blocks(content: Option<&Content>, i: usize) -> Result<Vec<Value>> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(vec![json!({"type": "text", "text": text})]),
        Some(Content::Parts(parts)) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for (k, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => {
                        blocks.push(json!({"type": "text", "text": text}));
                    }
                    ContentPart::ImageUrl { image_url } => {
                        let field = format!("messages[{i}].content[{k}].image_url.url");
                        blocks.push(image_block(&image_url.url, field)?);
                    }
                    // Unmodelled parts may be Anthropic-native blocks (`document`...).
                    ContentPart::Other(value) => blocks.push(value.clone()),
                }
            }
            Ok(blocks)
        }
    }
}

fn image_block(url: &str, field: String) -> Result<Value> {
    if let Some((media_type, data)) = parse_data_url(url) {
        return Ok(json!({
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data}
        }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    Err(Error::bad_request(
        field,
        "an image must be an https URL or a base64 data: URL",
    ))
}

fn assistant_blocks(message: &Message, i: usize) -> Result<Vec<Value>> {
    let mut blocks = content_blocks(message.content.as_ref(), i)?;
    for (j, call) in message.tool_calls.iter().flatten().enumerate() {
        let input = parse_tool_arguments(
            &call.function.arguments,
            format!("messages[{i}].tool_calls[{j}].function.arguments"),
        )?;
        blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": input,
        }));
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
    let content = match &message.content {
        Some(Content::Parts(_)) => Value::Array(content_blocks(message.content.as_ref(), i)?),
        Some(Content::Text(text)) => Value::String(text.clone()),
        None => Value::String(String::new()),
    };
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": content}))
}

// ---------------------------------------------------------------------------------------
// Response translation
// ---------------------------------------------------------------------------------------

/// A Messages API answer. Unmodelled top-level fields survive in `extra`.
#[derive(Debug, Deserialize)]
pub(super) struct AnthropicMessage {
    id: String,
    model: String,
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: AnthropicUsage,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Default, Deserialize)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// OpenAI counts every prompt token in `prompt_tokens`; Anthropic splits off cache
    /// writes and reads, so they are added back, with reads reported as cached.
    fn to_usage(&self) -> Usage {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let prompt =
            self.input_tokens.unwrap_or(0) + self.cache_creation_input_tokens.unwrap_or(0) + cached;
        Usage::new(prompt, self.output_tokens.unwrap_or(0)).with_cached_tokens(cached)
    }

    /// Takes the counters a later event reports (`message_delta` carries cumulative ones).
    fn update(&mut self, other: AnthropicUsage) {
        let keep = |new: Option<u64>, old: Option<u64>| new.or(old);
        self.input_tokens = keep(other.input_tokens, self.input_tokens);
        self.output_tokens = keep(other.output_tokens, self.output_tokens);
        self.cache_creation_input_tokens = keep(
            other.cache_creation_input_tokens,
            self.cache_creation_input_tokens,
        );
        self.cache_read_input_tokens =
            keep(other.cache_read_input_tokens, self.cache_read_input_tokens);
    }
}

fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

pub(super) fn from_anthropic(message: AnthropicMessage) -> ChatResponse {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                text.push_str(block.get("text").and_then(Value::as_str).unwrap_or(""));
            }
            Some("tool_use") => tool_calls.push(ToolCall {
                id: str_field(block, "id"),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: str_field(block, "name"),
                    arguments: block
                        .get("input")
                        .map(Value::to_string)
                        .unwrap_or_else(|| "{}".to_owned()),
                },
            }),
            other => tracing::debug!(block = ?other, "Anthropic content block not translated"),
        }
    }
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(Content::Text(text))
    };
    let mut extra = message.extra;
    extra.remove("type");
    extra.remove("role");
    ChatResponse {
        id: message.id,
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: message.model,
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
            finish_reason: message.stop_reason.as_deref().map(finish_reason),
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: Some(message.usage.to_usage()),
        system_fingerprint: None,
        extra,
    }
}

fn str_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------

/// Anthropic's stream events, told apart by the `type` field of each `data:` payload.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: Value,
    },
    ContentBlockDelta {
        index: u32,
        delta: Value,
    },
    ContentBlockStop {},
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<AnthropicUsage>,
    },
    MessageStop {},
    Ping {},
    Error {
        error: ErrorBody,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: AnthropicUsage,
}

#[derive(Debug, Default, Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Turns Anthropic events into OpenAI chunks: a role chunk, text and tool-call deltas, then
/// a finish chunk and a usage chunk once `message_stop` arrives.
pub(super) struct AnthropicDecoder {
    id: String,
    model: String,
    created: u64,
    role_sent: bool,
    /// Anthropic block index → ordinal of the tool call among the `tool_use` blocks.
    tool_blocks: HashMap<u32, u32>,
    usage: AnthropicUsage,
    stop_reason: Option<String>,
    done: bool,
}

impl AnthropicDecoder {
    pub(super) fn new(model: &str) -> Self {
        AnthropicDecoder {
            id: String::new(),
            model: model.to_owned(),
            created: unix_now(),
            role_sent: false,
            tool_blocks: HashMap::new(),
            usage: AnthropicUsage::default(),
            stop_reason: None,
            done: false,
        }
    }

    fn chunk(&self) -> ChatChunk {
        ChatChunk::new(self.id.clone(), self.model.clone(), self.created)
    }

    fn push_delta(&mut self, delta: Delta, out: &mut Vec<ChatChunk>) {
        if !self.role_sent {
            self.push_role(out);
        }
        out.push(self.chunk().with_delta(0, delta, None));
    }

    fn push_role(&mut self, out: &mut Vec<ChatChunk>) {
        self.role_sent = true;
        let delta = Delta {
            role: Some(Role::Assistant),
            content: Some(String::new()),
            ..Delta::default()
        };
        out.push(self.chunk().with_delta(0, delta, None));
    }

    fn tool_delta(index: u32, call: ToolCallDelta) -> Delta {
        Delta {
            tool_calls: Some(vec![ToolCallDelta { index, ..call }]),
            ..Delta::default()
        }
    }
}

impl StreamDecoder for AnthropicDecoder {
    fn decode(&mut self, event: SseEvent, out: &mut Vec<ChatChunk>) -> Result<()> {
        let parsed: StreamEvent = serde_json::from_str(&event.data)
            .map_err(|e| Error::malformed(200, format!("unreadable stream event: {e}")))?;
        match parsed {
            StreamEvent::MessageStart { message } => {
                if let Some(id) = message.id {
                    self.id = id;
                }
                if let Some(model) = message.model {
                    self.model = model;
                }
                self.usage.update(message.usage);
                if !self.role_sent {
                    self.push_role(out);
                }
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block.get("type").and_then(Value::as_str) {
                Some("tool_use") => {
                    let ordinal = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.insert(index, ordinal);
                    let call = ToolCallDelta {
                        id: Some(str_field(&content_block, "id")),
                        kind: Some("function".to_owned()),
                        function: Some(FunctionCallDelta {
                            name: Some(str_field(&content_block, "name")),
                            arguments: Some(String::new()),
                        }),
                        ..ToolCallDelta::default()
                    };
                    self.push_delta(Self::tool_delta(ordinal, call), out);
                }
                Some("text") => {
                    let text = str_field(&content_block, "text");
                    if !text.is_empty() {
                        self.push_delta(Delta::text(text), out);
                    }
                }
                _ => {}
            },
            StreamEvent::ContentBlockDelta { index, delta } => {
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let text = str_field(&delta, "text");
                        if !text.is_empty() {
                            self.push_delta(Delta::text(text), out);
                        }
                    }
                    Some("input_json_delta") => {
                        let piece = str_field(&delta, "partial_json");
                        let ordinal = self.tool_blocks.get(&index).copied();
                        if let (Some(ordinal), false) = (ordinal, piece.is_empty()) {
                            let call = ToolCallDelta {
                                function: Some(FunctionCallDelta {
                                    name: None,
                                    arguments: Some(piece),
                                }),
                                ..ToolCallDelta::default()
                            };
                            self.push_delta(Self::tool_delta(ordinal, call), out);
                        }
                    }
                    // Thinking, signatures and citations have no OpenAI chunk field.
                    _ => {}
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                if let Some(usage) = usage {
                    self.usage.update(usage);
                }
            }
            StreamEvent::MessageStop {} => {
                if !self.role_sent {
                    self.push_role(out);
                }
                let reason = self
                    .stop_reason
                    .as_deref()
                    .map(finish_reason)
                    .unwrap_or(FinishReason::Stop);
                out.push(self.chunk().with_delta(0, Delta::default(), Some(reason)));
                let mut usage_chunk = self.chunk();
                usage_chunk.usage = Some(self.usage.to_usage());
                out.push(usage_chunk);
                self.done = true;
            }
            StreamEvent::Error { error } => return Err(error_from_body(200, None, error)),
            StreamEvent::ContentBlockStop {} | StreamEvent::Ping {} | StreamEvent::Unknown => {}
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Maps Anthropic's `{"type":"error","error":{"type","message"}}` answers to the taxonomy.
pub(super) fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => error_from_body(status, Some(headers), envelope.error),
        Err(_) => {
            let message: String = String::from_utf8_lossy(body).chars().take(500).collect();
            let kind = kind_for_status(status, headers, None);
            Error::new(kind, message)
        }
    }
}

/// Classifies by Anthropic's error `type` first (a stream's `error` event arrives with a
/// 200 status), then by the HTTP status.
fn error_from_body(status: u16, headers: Option<&HeaderMap>, body: ErrorBody) -> Error {
    let message = body.message.unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let kind = match body.kind.as_deref() {
        Some("invalid_request_error")
            if lower.contains("prompt is too long")
                || lower.contains("context window")
                || lower.contains("context length")
                || lower.contains("exceed context limit") =>
        {
            ErrorKind::ContextWindowExceeded
        }
        Some("invalid_request_error") if lower.contains("content filtering") => {
            ErrorKind::ContentPolicy
        }
        Some("invalid_request_error") => ErrorKind::BadRequest {
            field: field_of(&message),
        },
        Some("authentication_error") | Some("permission_error") => ErrorKind::Auth,
        Some("not_found_error") => ErrorKind::Upstream { status: 404 },
        Some("request_too_large") => ErrorKind::BadRequest { field: None },
        Some("rate_limit_error") => ErrorKind::RateLimited {
            retry_after: headers.and_then(retry_after),
        },
        Some("overloaded_error") => ErrorKind::Upstream { status: 529 },
        Some("timeout_error") => ErrorKind::Timeout,
        Some("api_error") if !(500..600).contains(&status) => ErrorKind::Upstream { status: 500 },
        _ if (200..300).contains(&status) => ErrorKind::Upstream { status: 500 },
        _ => kind_for_status(status, headers.unwrap_or(&HeaderMap::new()), None),
    };
    Error::new(kind, message)
}

fn kind_for_status(status: u16, headers: &HeaderMap, field: Option<String>) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Auth,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited {
            retry_after: retry_after(headers),
        },
        400 | 413 | 422 => ErrorKind::BadRequest { field },
        _ => ErrorKind::Upstream { status },
    }
}

/// Anthropic prefixes validation messages with the offending path, e.g.
/// `messages.1.content: Input should be a valid list` or `max_tokens: Field required`.
fn field_of(message: &str) -> Option<String> {
    let (path, _) = message.split_once(": ")?;
    let plausible = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    plausible.then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::sse::SseParser;
    use crate::types::Tool;

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest::new("alias", messages)
    }

    fn assistant_calling(id: &str, name: &str, args: &str) -> Message {
        Message {
            content: None,
            tool_calls: Some(vec![ToolCall {
                id: id.into(),
                kind: "function".into(),
                function: FunctionCall {
                    name: name.into(),
                    arguments: args.into(),
                },
            }]),
            ..Message::assistant("")
        }
    }

    #[test]
    fn lifts_system_and_merges_same_role_turns() {
        let mut req = request(vec![
            Message::system("Be brief."),
            Message {
                role: Role::Developer,
                ..Message::system("Answer in French.")
            },
            Message::user("Hi"),
            Message::user("Anyone there?"),
            Message::assistant("Oui."),
        ]);
        req.max_tokens = Some(50);
        req.stop = Some(crate::types::Stop::One("END".into()));
        req.user = Some("u-1".into());
        let body = to_anthropic(&req, "claude-x", false).unwrap();
        assert_eq!(body["model"], "claude-x");
        assert_eq!(body["system"], "Be brief.\n\nAnswer in French.");
        assert_eq!(body["max_tokens"], 50);
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert_eq!(body["metadata"], json!({"user_id": "u-1"}));
        assert!(body.get("stream").is_none());
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["role"], "user");
        assert_eq!(
            messages[0]["content"],
            json!([{"type": "text", "text": "Hi"}, {"type": "text", "text": "Anyone there?"}])
        );
        assert_eq!(messages[1]["role"], "assistant");
    }

    #[test]
    fn default_max_tokens_when_caller_sets_none() {
        let body = to_anthropic(&request(vec![Message::user("x")]), "m", true).unwrap();
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(body["stream"], true);
    }

    #[test]
    fn tool_calls_and_results_become_blocks() {
        let mut req = request(vec![
            Message::user("Weather in Paris and Rome?"),
            Message {
                content: Some(Content::Text("Checking.".into())),
                tool_calls: Some(vec![
                    ToolCall {
                        id: "toolu_1".into(),
                        kind: "function".into(),
                        function: FunctionCall {
                            name: "get_weather".into(),
                            arguments: r#"{"city":"Paris"}"#.into(),
                        },
                    },
                    ToolCall {
                        id: "toolu_2".into(),
                        kind: "function".into(),
                        function: FunctionCall {
                            name: "get_weather".into(),
                            arguments: r#"{"city":"Rome"}"#.into(),
                        },
                    },
                ]),
                ..Message::assistant("")
            },
            Message::tool("toolu_1", "18C"),
            Message::tool("toolu_2", "24C"),
            Message::user("Thanks"),
        ]);
        req.tools = Some(vec![Tool::function(
            "get_weather",
            "Current weather",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )]);
        req.tool_choice = Some(ToolChoice::Required);
        req.parallel_tool_calls = Some(false);
        let body = to_anthropic(&req, "m", false).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert_eq!(
            messages[1]["content"],
            json!([
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
            ])
        );
        assert_eq!(messages[2]["role"], "user");
        assert_eq!(
            messages[2]["content"],
            json!([
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "24C"},
                {"type": "text", "text": "Thanks"},
            ])
        );
        assert_eq!(
            body["tools"],
            json!([{
                "name": "get_weather",
                "description": "Current weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}
            }])
        );
        assert_eq!(
            body["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
    }

    #[test]
    fn tool_results_lead_their_user_turn() {
        // A user remark between the call and its result still merges into one user turn,
        // and Anthropic wants the tool_result blocks first in it.
        let req = request(vec![
            Message::user("Look it up"),
            assistant_calling("toolu_9", "lookup", "{}"),
            Message::user("(take your time)"),
            Message::tool("toolu_9", "found"),
        ]);
        let body = to_anthropic(&req, "m", false).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[1]["content"][0]["input"], json!({}));
        assert_eq!(
            messages[2]["content"],
            json!([
                {"type": "tool_result", "tool_use_id": "toolu_9", "content": "found"},
                {"type": "text", "text": "(take your time)"},
            ])
        );
    }

    #[test]
    fn tool_choice_modes() {
        let choice = |c: ToolChoice| {
            let mut req = request(vec![Message::user("x")]);
            req.tool_choice = Some(c);
            to_anthropic(&req, "m", false).unwrap()["tool_choice"].clone()
        };
        assert_eq!(choice(ToolChoice::Auto), json!({"type": "auto"}));
        assert_eq!(choice(ToolChoice::None), json!({"type": "none"}));
        let named: ToolChoice =
            serde_json::from_value(json!({"type": "function", "function": {"name": "lookup"}}))
                .unwrap();
        assert_eq!(choice(named), json!({"type": "tool", "name": "lookup"}));
    }

    #[test]
    fn invalid_tool_arguments_name_the_field() {
        let req = request(vec![
            Message::user("x"),
            assistant_calling("toolu_1", "f", "{not json"),
        ]);
        let error = to_anthropic(&req, "m", false).unwrap_err();
        assert_eq!(
            error.field(),
            Some("messages[1].tool_calls[0].function.arguments")
        );
    }

    #[test]
    fn image_parts_become_image_blocks() {
        let parts: Vec<ContentPart> = serde_json::from_value(json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        ]))
        .unwrap();
        let req = request(vec![Message {
            content: Some(Content::Parts(parts)),
            ..Message::user("")
        }]);
        let body = to_anthropic(&req, "m", false).unwrap();
        assert_eq!(
            body["messages"][0]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            ])
        );

        let bad: Vec<ContentPart> = serde_json::from_value(json!([
            {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}
        ]))
        .unwrap();
        let req = request(vec![Message {
            content: Some(Content::Parts(bad)),
            ..Message::user("")
        }]);
        let error = to_anthropic(&req, "m", false).unwrap_err();
        assert_eq!(error.field(), Some("messages[0].content[0].image_url.url"));
    }

    #[test]
    fn response_format_and_extra_fields() {
        let mut req = request(vec![Message::user("x")]);
        req.response_format = Some(
            serde_json::from_value(json!({
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": {"type": "object"}}
            }))
            .unwrap(),
        );
        req.extra.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": 1024}),
        );
        req.extra
            .insert("output_config".into(), json!({"effort": "low"}));
        let body = to_anthropic(&req, "m", false).unwrap();
        assert_eq!(
            body["output_config"],
            json!({"format": {"type": "json_schema", "schema": {"type": "object"}}, "effort": "low"})
        );
        assert_eq!(body["thinking"]["budget_tokens"], 1024);

        req.response_format = Some(ResponseFormat::JsonObject);
        let error = to_anthropic(&req, "m", false).unwrap_err();
        assert_eq!(error.field(), Some("response_format"));

        let mut req = request(vec![Message::user("x")]);
        req.n = Some(2);
        assert_eq!(
            to_anthropic(&req, "m", false).unwrap_err().field(),
            Some("n")
        );
    }

    #[test]
    fn translates_a_tool_use_response() {
        let message: AnthropicMessage = serde_json::from_value(json!({
            "id": "msg_01Aq9w938a90dw8q",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [
                {"type": "text", "text": "I'll check "},
                {"type": "text", "text": "the weather."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                 "input": {"location": "San Francisco, CA", "unit": "celsius"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 100, "cache_creation_input_tokens": 20,
                      "cache_read_input_tokens": 30, "output_tokens": 40}
        }))
        .unwrap();
        let response = from_anthropic(message);
        assert_eq!(response.id, "msg_01Aq9w938a90dw8q");
        assert_eq!(response.model, "claude-sonnet-4-5-20250929");
        assert_eq!(response.text(), "I'll check the weather.");
        let choice = &response.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        let calls = choice.message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].id, "toolu_01A09q90qw90lq917835lq9");
        assert_eq!(calls[0].function.name, "get_weather");
        let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
        assert_eq!(args["unit"], "celsius");
        let usage = response.usage.unwrap();
        assert_eq!(usage.prompt_tokens, 150);
        assert_eq!(usage.cached_tokens(), 30);
        assert_eq!(usage.completion_tokens, 40);
        assert_eq!(usage.total_tokens, 190);
        assert!(response.extra.contains_key("stop_sequence"));
        assert!(!response.extra.contains_key("type"));
    }

    #[test]
    fn translates_the_shared_fixture() {
        let raw = include_str!("../../tests/fixtures/anthropic_message.json");
        let response = from_anthropic(serde_json::from_str(raw).unwrap());
        assert_eq!(response.id, "msg_01Aq9w938a90dw8q");
        assert_eq!(
            response.text(),
            "I'll check the current weather in San Francisco for you."
        );
        let usage = response.usage.as_ref().unwrap();
        assert_eq!(usage.prompt_tokens, 2095 + 1024);
        assert_eq!(usage.cached_tokens(), 1024);
        assert_eq!(usage.completion_tokens, 503);
        let calls = response.choices[0].message.tool_calls.as_ref().unwrap();
        assert_eq!(
            calls[0].function.arguments,
            r#"{"location":"San Francisco, CA","unit":"celsius"}"#
        );
        assert!(response.extra.contains_key("container"));
        // What we hand back is valid OpenAI-shaped JSON that decodes to the same value.
        let encoded = serde_json::to_value(&response).unwrap();
        let again: ChatResponse = serde_json::from_value(encoded).unwrap();
        assert_eq!(again, response);
    }

    #[test]
    fn stop_reasons() {
        assert_eq!(finish_reason("end_turn"), FinishReason::Stop);
        assert_eq!(finish_reason("stop_sequence"), FinishReason::Stop);
        assert_eq!(finish_reason("max_tokens"), FinishReason::Length);
        assert_eq!(finish_reason("tool_use"), FinishReason::ToolCalls);
        assert_eq!(finish_reason("refusal"), FinishReason::ContentFilter);
    }

    fn map(status: u16, body: &str) -> Error {
        map_error(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn maps_documented_error_bodies() {
        let e = map(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"},"request_id":"req_1"}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::ContextWindowExceeded);

        let e = map(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#,
        );
        assert_eq!(e.field(), Some("max_tokens"));

        let e = map(
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Auth);
        let e = map(
            403,
            r#"{"type":"error","error":{"type":"permission_error","message":"no access"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Auth);

        let e = map(
            404,
            r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Upstream { status: 404 });
        assert!(!e.is_retryable());

        let e = map(
            413,
            r#"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}"#,
        );
        assert!(matches!(e.kind(), ErrorKind::BadRequest { .. }));

        let e = map(
            500,
            r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Upstream { status: 500 });

        let e = map(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Upstream { status: 529 });
        assert!(e.is_retryable());

        let e = map(502, "<html>Bad gateway</html>");
        assert_eq!(e.kind(), &ErrorKind::Upstream { status: 502 });
        assert!(e.message().contains("Bad gateway"));
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "12".parse().unwrap());
        let e = map_error(
            429,
            &headers,
            br#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#,
        );
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(12)));
    }

    #[tokio::test]
    async fn embeddings_are_refused() {
        let provider = AnthropicProvider::new(
            "a",
            &ProviderConfig::new(ProviderKind::Anthropic),
            reqwest::Client::new(),
        );
        let target = Target {
            deployment: "d",
            model: "m",
            timeout: None,
        };
        let request = EmbeddingRequest::new("m", "hello");
        let error = provider.embed(&request, &target).await.unwrap_err();
        assert_eq!(error.field(), Some("model"));
    }

    /// A recorded text + tool-use stream, with `ping`, thinking and CRLF framing mixed in.
    const TOOL_STREAM: &str = concat!(
        "event: message_start\r\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5-20251001\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":100,\"output_tokens\":2},\"content\":[],\"stop_reason\":null}}\r\n\r\n",
        "event: content_block_start\r\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\r\n\r\n",
        "event: content_block_delta\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Need weather.\"}}\r\n\r\n",
        "event: content_block_delta\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB\"}}\r\n\r\n",
        "event: content_block_stop\r\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n",
        "event: content_block_start\r\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n",
        "event: ping\r\n",
        "data: {\"type\": \"ping\"}\r\n\r\n",
        "event: content_block_delta\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay, let's check\"}}\r\n\r\n",
        "event: content_block_delta\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\" the weather.\"}}\r\n\r\n",
        "event: content_block_stop\r\n",
        "data: {\"type\":\"content_block_stop\",\"index\":1}\r\n\r\n",
        "event: content_block_start\r\n",
        "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\r\n\r\n",
        "event: content_block_delta\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\r\n\r\n",
        "event: content_block_delta\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\r\n\r\n",
        "event: content_block_delta\r\n",
        "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San Francisco, CA\\\"}\"}}\r\n\r\n",
        "event: content_block_stop\r\n",
        "data: {\"type\":\"content_block_stop\",\"index\":2}\r\n\r\n",
        "event: message_delta\r\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\r\n\r\n",
        "event: message_stop\r\n",
        "data: {\"type\":\"message_stop\"}\r\n\r\n",
    );

    /// Feeds `input` through the SSE parser in `piece`-byte reads and the decoder.
    fn run(input: &str, piece: usize) -> (Vec<ChatChunk>, Result<()>, bool) {
        let mut parser = SseParser::new();
        let mut decoder = AnthropicDecoder::new("fallback");
        let mut events = Vec::new();
        let mut chunks = Vec::new();
        for bytes in input.as_bytes().chunks(piece) {
            parser.push(bytes, &mut events);
        }
        for event in events {
            if let Err(e) = decoder.decode(event, &mut chunks) {
                return (chunks, Err(e), decoder.is_done());
            }
        }
        (chunks, Ok(()), decoder.is_done())
    }

    #[test]
    fn decodes_a_recorded_tool_stream() {
        for piece in [1, 7, 64, TOOL_STREAM.len()] {
            let (chunks, result, done) = run(TOOL_STREAM, piece);
            result.unwrap();
            assert!(done);
            assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
            assert!(
                chunks
                    .iter()
                    .all(|c| c.id == "msg_014p7gG3wDgGV9EUtLvnow3U")
            );
            assert!(
                chunks
                    .iter()
                    .all(|c| c.model == "claude-haiku-4-5-20251001")
            );
            let text: String = chunks.iter().map(ChatChunk::text).collect();
            assert_eq!(text, "Okay, let's check the weather.");

            let calls: Vec<&ToolCallDelta> = chunks
                .iter()
                .flat_map(|c| c.choices.iter())
                .flat_map(|c| c.delta.tool_calls.iter().flatten())
                .collect();
            assert_eq!(calls[0].index, 0);
            assert_eq!(
                calls[0].id.as_deref(),
                Some("toolu_01T1x1fJ34qAmk2tNTrN7Up6")
            );
            let name = calls[0].function.as_ref().and_then(|f| f.name.as_deref());
            assert_eq!(name, Some("get_weather"));
            let args: String = calls
                .iter()
                .filter_map(|c| c.function.as_ref()?.arguments.as_deref())
                .collect();
            assert_eq!(args, r#"{"location": "San Francisco, CA"}"#);
            assert!(calls[1..].iter().all(|c| c.id.is_none() && c.index == 0));

            let finish = &chunks[chunks.len() - 2];
            assert_eq!(
                finish.choices[0].finish_reason,
                Some(FinishReason::ToolCalls)
            );
            let last = chunks.last().unwrap();
            assert!(last.choices.is_empty());
            let usage = last.usage.as_ref().unwrap();
            assert_eq!(usage.prompt_tokens, 572);
            assert_eq!(usage.cached_tokens(), 100);
            assert_eq!(usage.completion_tokens, 89);
        }
    }

    #[test]
    fn a_stream_cut_before_message_stop_is_not_done() {
        let cut = TOOL_STREAM
            .find("event: message_stop")
            .map(|at| &TOOL_STREAM[..at])
            .unwrap();
        let (chunks, result, done) = run(cut, 13);
        result.unwrap();
        assert!(!done, "the shared stream turns this into a network error");
        assert!(chunks.iter().all(|c| c.usage.is_none()));
        assert!(
            chunks
                .iter()
                .flat_map(|c| &c.choices)
                .all(|c| c.finish_reason.is_none())
        );
    }

    #[test]
    fn an_error_event_mid_stream_is_a_typed_error() {
        let input = concat!(
            "event: message_start\n",
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
            "event: error\n",
            "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        );
        let (chunks, result, done) = run(input, 5);
        assert_eq!(chunks.len(), 1);
        let error = result.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Upstream { status: 529 });
        assert!(error.is_retryable());
        assert!(!done);
    }
}
