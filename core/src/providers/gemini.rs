//! Google's Gemini API (`models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
//! `:batchEmbedContents`). Requests arrive in OpenAI's shape: roles become `user`/`model`,
//! tool calls become `functionCall`/`functionResponse` parts, and answers are mapped back.

use std::collections::HashMap;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::event_stream::{StreamDecoder, StreamOrigin, chunk_stream};
use super::http::{Exchange, ExtraHeaders, credential};
use super::sse::SseEvent;
use super::{
    ChatStream, Provider, Target, parse_data_url, parse_tool_arguments, retry_after::retry_after,
    unix_now,
};
use crate::config::{ProviderConfig, ProviderKind, Secret};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{
    ChatChunk, ChatRequest, ChatResponse, Choice, CompletionTokensDetails, Content, ContentPart,
    Delta, Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, Extra, FinishReason,
    FunctionCall, FunctionCallDelta, Message, ResponseFormat, Role, ToolCall, ToolCallDelta,
    ToolChoice, Usage,
};

#[derive(Debug)]
pub struct GeminiProvider {
    name: String,
    base_url: String,
    api_key: Option<Secret>,
    headers: ExtraHeaders,
    client: Client,
}

impl GeminiProvider {
    pub fn new(name: &str, config: &ProviderConfig, client: Client) -> Self {
        GeminiProvider {
            name: name.to_owned(),
            base_url: config.resolved_base_url(),
            api_key: config.api_key.clone(),
            headers: ExtraHeaders::new(&config.headers),
            client,
        }
    }

    /// `POST {base}/models/{model}:{method}`; a `models/` prefix on the name is tolerated.
    fn post(&self, model: &str, method: &str) -> Result<RequestBuilder> {
        let model = model.strip_prefix("models/").unwrap_or(model);
        let builder = self
            .client
            .post(format!("{}/models/{model}:{method}", self.base_url));
        let builder = match credential(&self.name, self.api_key.as_ref())? {
            Some(key) => builder.header("x-goog-api-key", key),
            None => builder,
        };
        Ok(self.headers.apply(builder))
    }

    fn exchange<'a>(&'a self, target: &'a Target<'a>) -> Exchange<'a> {
        Exchange {
            provider: &self.name,
            target,
            map_error,
            // Google does not document a request id header; this one is best effort.
            request_id_header: "x-request-id",
        }
    }
}

#[async_trait]
impl Provider for GeminiProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    async fn chat(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let body = to_gemini(request)?;
        let exchange = self.exchange(target);
        let http = self.post(target.model, "generateContent")?.json(&body);
        let response: GeminiResponse = exchange.json(http).await?;
        from_gemini(response, target.model).map_err(|e| exchange.context(e, None))
    }

    async fn chat_stream(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatStream> {
        let body = to_gemini(request)?;
        let exchange = self.exchange(target);
        let http = self
            .post(target.model, "streamGenerateContent")?
            .query(&[("alt", "sse")])
            .json(&body);
        let response = exchange.stream(http).await?;
        let origin = StreamOrigin {
            provider: self.name.clone(),
            deployment: target.deployment.to_owned(),
            request_id: exchange.request_id(response.headers()),
        };
        Ok(chunk_stream(
            response,
            GeminiDecoder::new(target.model),
            origin,
            target.timeout,
        ))
    }

    async fn embed(
        &self,
        request: &EmbeddingRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingResponse> {
        let body = to_batch_embed(request, target.model)?;
        let http = self.post(target.model, "batchEmbedContents")?.json(&body);
        let response: BatchEmbedResponse = self.exchange(target).json(http).await?;
        Ok(from_batch_embed(response, target.model))
    }
}

// ---------------------------------------------------------------------------------------
// Request translation
// ---------------------------------------------------------------------------------------

/// Builds a `GenerateContentRequest`. Tool and response schemas are sent as
/// `parametersJsonSchema`/`responseJsonSchema`, which take standard JSON Schema, so the
/// caller's OpenAI schemas (with `additionalProperties`, `$ref`...) need no rewriting.
pub(super) fn to_gemini(request: &ChatRequest) -> Result<Value> {
    let mut body = Map::new();
    let mut system: Vec<String> = Vec::new();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    // Gemini's functionResponse names the function, OpenAI's tool message names the call.
    let mut call_names: HashMap<&str, &str> = HashMap::new();

    for (i, message) in request.messages.iter().enumerate() {
        let (role, parts) = match message.role {
            Role::System | Role::Developer => {
                let text = message.text();
                if !text.is_empty() {
                    system.push(text);
                }
                continue;
            }
            Role::User => ("user", user_parts(message.content.as_ref(), i)?),
            Role::Assistant => {
                let mut parts = user_parts(message.content.as_ref(), i)?;
                for (j, call) in message.tool_calls.iter().flatten().enumerate() {
                    let args = parse_tool_arguments(
                        &call.function.arguments,
                        format!("messages[{i}].tool_calls[{j}].function.arguments"),
                    )?;
                    call_names.insert(&call.id, &call.function.name);
                    parts.push(json!({"functionCall": {"name": call.function.name, "args": args}}));
                }
                ("model", parts)
            }
            Role::Tool => {
                let field = || format!("messages[{i}].tool_call_id");
                let id = message.tool_call_id.as_deref().ok_or_else(|| {
                    Error::bad_request(field(), "a tool message must name the call it answers")
                })?;
                let name = call_names.get(id).ok_or_else(|| {
                    Error::bad_request(field(), format!("no earlier tool call has id `{id}`"))
                })?;
                let part = json!({
                    "functionResponse": {"name": name, "response": tool_response(message)}
                });
                ("user", vec![part])
            }
        };
        if parts.is_empty() {
            continue;
        }
        // Parallel function responses must share one turn; same-role neighbours merge.
        match contents.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => contents.push((role, parts)),
        }
    }
    let contents: Vec<Value> = contents
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    body.insert("contents".into(), contents.into());
    if !system.is_empty() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system.join("\n\n")}]}),
        );
    }

    if let Some(tools) = &request.tools {
        let declarations = tools
            .iter()
            .enumerate()
            .map(|(i, tool)| {
                if tool.kind != "function" {
                    return Err(Error::bad_request(
                        format!("tools[{i}].type"),
                        format!("Gemini only takes function tools, not `{}`", tool.kind),
                    ));
                }
                let f = &tool.function;
                let mut out = Map::new();
                out.insert("name".into(), f.name.clone().into());
                if let Some(description) = &f.description {
                    out.insert("description".into(), description.clone().into());
                }
                if let Some(parameters) = &f.parameters {
                    out.insert("parametersJsonSchema".into(), parameters.clone());
                }
                Ok(Value::Object(out))
            })
            .collect::<Result<Vec<_>>>()?;
        body.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
    }
    if let Some(choice) = &request.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Function(named) => {
                json!({"mode": "ANY", "allowedFunctionNames": [named.function.name]})
            }
        };
        body.insert(
            "toolConfig".into(),
            json!({"functionCallingConfig": config}),
        );
    }

    let mut generation = Map::new();
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            generation.insert(key.to_owned(), value);
        }
    };
    set("temperature", request.temperature.map(Value::from));
    set("topP", request.top_p.map(Value::from));
    set(
        "maxOutputTokens",
        request.output_token_limit().map(Value::from),
    );
    let stop = request.stop_sequences();
    set("stopSequences", (!stop.is_empty()).then(|| stop.into()));
    set("seed", request.seed.map(Value::from));
    set("candidateCount", request.n.map(Value::from));
    set("presencePenalty", request.presence_penalty.map(Value::from));
    set(
        "frequencyPenalty",
        request.frequency_penalty.map(Value::from),
    );
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            set("responseMimeType", Some("application/json".into()));
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            set("responseMimeType", Some("application/json".into()));
            set("responseJsonSchema", json_schema.schema.clone());
        }
    }
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    if request.user.is_some() || request.parallel_tool_calls.is_some() {
        tracing::debug!("user and parallel_tool_calls have no Gemini equivalent; dropped");
    }
    // Unmodelled fields (`safetySettings`, `cachedContent`...) pass through; objects we also
    // set (e.g. `generationConfig.thinkingConfig`) are merged, the caller's keys winning.
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

/// Content as Gemini parts; empty text is dropped (Gemini rejects empty parts).
fn user_parts(content: Option<&Content>, i: usize) -> Result<Vec<Value>> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(vec![json!({"text": text})]),
        Some(Content::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (k, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text } if text.is_empty() => {}
                    ContentPart::Text { text } => out.push(json!({"text": text})),
                    ContentPart::ImageUrl { image_url } => {
                        let field = format!("messages[{i}].content[{k}].image_url.url");
                        out.push(image_part(&image_url.url, field)?);
                    }
                    // Unmodelled parts may be Gemini-native parts; pass them on.
                    ContentPart::Other(value) => out.push(value.clone()),
                }
            }
            Ok(out)
        }
    }
}

fn image_part(url: &str, field: String) -> Result<Value> {
    if let Some((mime, data)) = parse_data_url(url) {
        return Ok(json!({"inlineData": {"mimeType": mime, "data": data}}));
    }
    if url.starts_with("https://") || url.starts_with("http://") || url.starts_with("gs://") {
        let mut file = Map::new();
        file.insert("fileUri".into(), url.into());
        if let Some(mime) = image_mime_from_extension(url) {
            file.insert("mimeType".into(), mime.into());
        }
        return Ok(json!({"fileData": file}));
    }
    Err(Error::bad_request(
        field,
        "an image must be an https URL or a base64 data: URL",
    ))
}

/// Gemini wants a MIME type with `fileData`; the URL's extension is our best hint.
fn image_mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}

/// `functionResponse.response` must be a JSON object: a JSON-object result is sent as is,
/// anything else is wrapped as `{"output": ...}`, the key Google's docs use.
fn tool_response(message: &Message) -> Value {
    let text = message.text();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Value::Object(object),
        Ok(other) => json!({"output": other}),
        Err(_) => json!({"output": text}),
    }
}

fn to_batch_embed(request: &EmbeddingRequest, model: &str) -> Result<Value> {
    let texts = request.input.texts().ok_or_else(|| {
        Error::bad_request(
            "input",
            "Gemini embeds text only; token input is not supported",
        )
    })?;
    if request.encoding_format.as_deref() == Some("base64") {
        return Err(Error::bad_request(
            "encoding_format",
            "Gemini returns float embeddings only",
        ));
    }
    let model = model.strip_prefix("models/").unwrap_or(model);
    let requests: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut one = json!({
                "model": format!("models/{model}"),
                "content": {"parts": [{"text": text}]},
            });
            if let Some(dimensions) = request.dimensions {
                one["outputDimensionality"] = dimensions.into();
            }
            one
        })
        .collect();
    Ok(json!({"requests": requests}))
}

#[derive(Debug, Deserialize)]
struct BatchEmbedResponse {
    #[serde(default)]
    embeddings: Vec<ContentEmbedding>,
}

#[derive(Debug, Deserialize)]
struct ContentEmbedding {
    #[serde(default)]
    values: Vec<f32>,
}

fn from_batch_embed(response: BatchEmbedResponse, model: &str) -> EmbeddingResponse {
    EmbeddingResponse {
        object: "list".to_owned(),
        data: response
            .embeddings
            .into_iter()
            .enumerate()
            .map(|(i, e)| Embedding::new(u32::try_from(i).unwrap_or(u32::MAX), e.values))
            .collect(),
        model: model.to_owned(),
        // batchEmbedContents reports no token counts.
        usage: EmbeddingUsage::default(),
        extra: Extra::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Response translation
// ---------------------------------------------------------------------------------------

/// A `GenerateContentResponse` (also each frame of a stream).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GeminiResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    prompt_feedback: Option<Value>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    response_id: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<CandidateContent>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    index: Option<u32>,
    /// `safetyRatings`, `citationMetadata`... kept on the choice.
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Default, Deserialize)]
struct CandidateContent {
    #[serde(default)]
    parts: Vec<Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: Option<u64>,
    #[serde(default)]
    total_token_count: Option<u64>,
    #[serde(default)]
    cached_content_token_count: u64,
}

impl UsageMetadata {
    /// OpenAI counts reasoning inside `completion_tokens`; Gemini reports thoughts apart.
    fn to_usage(&self) -> Usage {
        let thoughts = self.thoughts_token_count.unwrap_or(0);
        let mut usage = Usage::new(
            self.prompt_token_count,
            self.candidates_token_count + thoughts,
        )
        .with_cached_tokens(self.cached_content_token_count);
        if let Some(total) = self.total_token_count {
            usage.total_tokens = total;
        }
        if thoughts > 0 {
            usage.completion_tokens_details = Some(CompletionTokensDetails {
                reasoning_tokens: Some(thoughts),
                extra: Extra::new(),
            });
        }
        usage
    }
}

fn finish_reason(reason: &str, has_calls: bool) -> FinishReason {
    match reason {
        "STOP" if has_calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        other => FinishReason::Other(other.to_ascii_lowercase()),
    }
}

/// A prompt Gemini refused outright: no candidates, only `promptFeedback.blockReason`.
fn blocked_prompt(response: &GeminiResponse) -> Option<Error> {
    if !response.candidates.is_empty() {
        return None;
    }
    let reason = response
        .prompt_feedback
        .as_ref()?
        .get("blockReason")?
        .as_str()?;
    Some(Error::new(
        ErrorKind::ContentPolicy,
        format!("Gemini blocked the prompt ({reason})"),
    ))
}

/// Gemini has no call ids; OpenAI callers need unique ones to pair results with calls.
fn call_id_prefix() -> String {
    format!("call_{:08x}", rand::random::<u32>())
}

/// The text and function calls of one candidate's parts. Thought summaries are skipped.
fn split_parts(parts: &[Value], ids: &str, next_call: &mut u32) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts {
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            text.push_str(t);
        } else if let Some(call) = part.get("functionCall") {
            let id = call
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{ids}_{next_call}"));
            *next_call += 1;
            calls.push(ToolCall {
                id,
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: call
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: call
                        .get("args")
                        .map(Value::to_string)
                        .unwrap_or_else(|| "{}".to_owned()),
                },
            });
        }
    }
    (text, calls)
}

pub(super) fn from_gemini(response: GeminiResponse, model: &str) -> Result<ChatResponse> {
    if let Some(error) = blocked_prompt(&response) {
        return Err(error);
    }
    let ids = call_id_prefix();
    let mut next_call = 0;
    let choices = response
        .candidates
        .into_iter()
        .enumerate()
        .map(|(i, candidate)| {
            let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
            let (text, calls) = split_parts(&parts, &ids, &mut next_call);
            let finish = candidate
                .finish_reason
                .as_deref()
                .map(|r| finish_reason(r, !calls.is_empty()));
            let content = if text.is_empty() && !calls.is_empty() {
                None
            } else {
                Some(Content::Text(text))
            };
            Choice {
                index: candidate
                    .index
                    .unwrap_or_else(|| u32::try_from(i).unwrap_or(u32::MAX)),
                message: Message {
                    role: Role::Assistant,
                    content,
                    name: None,
                    tool_calls: (!calls.is_empty()).then_some(calls),
                    tool_call_id: None,
                    refusal: None,
                    extra: Extra::new(),
                },
                finish_reason: finish,
                logprobs: None,
                extra: candidate.extra,
            }
        })
        .collect();
    let mut extra = response.extra;
    if let Some(feedback) = response.prompt_feedback {
        extra.insert("promptFeedback".into(), feedback);
    }
    Ok(ChatResponse {
        id: response.response_id.unwrap_or_else(generated_id),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: response.model_version.unwrap_or_else(|| model.to_owned()),
        choices,
        usage: response
            .usage_metadata
            .as_ref()
            .map(UsageMetadata::to_usage),
        system_fingerprint: None,
        extra,
    })
}

fn generated_id() -> String {
    format!("chatcmpl-{:016x}", rand::random::<u64>())
}

// ---------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------

/// Each SSE `data:` is a whole `GenerateContentResponse`. Gemini has no terminal event: the
/// stream is complete once every candidate has reported a `finishReason`.
pub(super) struct GeminiDecoder {
    id: Option<String>,
    model: String,
    created: u64,
    role_sent: bool,
    call_ids: String,
    next_call: u32,
    /// Per candidate index: tool calls seen so far, and whether it has finished.
    candidates: HashMap<u32, (u32, bool)>,
    usage: Option<UsageMetadata>,
    done: bool,
}

impl GeminiDecoder {
    pub(super) fn new(model: &str) -> Self {
        GeminiDecoder {
            id: None,
            model: model.to_owned(),
            created: unix_now(),
            role_sent: false,
            call_ids: call_id_prefix(),
            next_call: 0,
            candidates: HashMap::new(),
            usage: None,
            done: false,
        }
    }

    fn chunk(&self) -> ChatChunk {
        ChatChunk::new(
            self.id.clone().unwrap_or_default(),
            self.model.clone(),
            self.created,
        )
    }
}

impl StreamDecoder for GeminiDecoder {
    fn decode(&mut self, event: SseEvent, out: &mut Vec<ChatChunk>) -> Result<()> {
        let unreadable =
            |e: serde_json::Error| Error::malformed(200, format!("unreadable stream frame: {e}"));
        let value: Value = serde_json::from_str(&event.data).map_err(unreadable)?;
        // A failure after the 200 arrives as an `{"error": ...}` frame.
        if value.get("error").is_some() {
            return Err(map_error(200, &HeaderMap::new(), event.data.as_bytes()));
        }
        let frame: GeminiResponse = serde_json::from_value(value).map_err(unreadable)?;
        if let Some(error) = blocked_prompt(&frame) {
            return Err(error);
        }
        if self.id.is_none() {
            self.id = Some(frame.response_id.clone().unwrap_or_else(generated_id));
        }
        if let Some(version) = &frame.model_version {
            self.model.clone_from(version);
        }
        if frame.usage_metadata.is_some() {
            self.usage = frame.usage_metadata.clone();
        }
        if !self.role_sent {
            self.role_sent = true;
            let delta = Delta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..Delta::default()
            };
            out.push(self.chunk().with_delta(0, delta, None));
        }
        for (i, candidate) in frame.candidates.into_iter().enumerate() {
            let index = candidate
                .index
                .unwrap_or_else(|| u32::try_from(i).unwrap_or(u32::MAX));
            let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
            let (text, calls) = split_parts(&parts, &self.call_ids, &mut self.next_call);
            let state = self.candidates.entry(index).or_insert((0, false));
            if !text.is_empty() {
                out.push(
                    ChatChunk::new(
                        self.id.clone().unwrap_or_default(),
                        self.model.clone(),
                        self.created,
                    )
                    .with_delta(index, Delta::text(text), None),
                );
            }
            if !calls.is_empty() {
                let deltas: Vec<ToolCallDelta> = calls
                    .into_iter()
                    .map(|call| {
                        let ordinal = state.0;
                        state.0 += 1;
                        ToolCallDelta {
                            index: ordinal,
                            id: Some(call.id),
                            kind: Some(call.kind),
                            function: Some(FunctionCallDelta {
                                name: Some(call.function.name),
                                arguments: Some(call.function.arguments),
                            }),
                        }
                    })
                    .collect();
                let delta = Delta {
                    tool_calls: Some(deltas),
                    ..Delta::default()
                };
                out.push(
                    ChatChunk::new(
                        self.id.clone().unwrap_or_default(),
                        self.model.clone(),
                        self.created,
                    )
                    .with_delta(index, delta, None),
                );
            }
            if let Some(reason) = candidate.finish_reason.as_deref() {
                state.1 = true;
                let reason = finish_reason(reason, state.0 > 0);
                out.push(
                    ChatChunk::new(
                        self.id.clone().unwrap_or_default(),
                        self.model.clone(),
                        self.created,
                    )
                    .with_delta(index, Delta::default(), Some(reason)),
                );
            }
        }
        if !self.candidates.is_empty() && self.candidates.values().all(|(_, finished)| *finished) {
            self.done = true;
            if let Some(usage) = &self.usage {
                let mut chunk = self.chunk();
                chunk.usage = Some(usage.to_usage());
                out.push(chunk);
            }
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
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<Value>,
}

impl ErrorBody {
    fn detail(&self, type_suffix: &str) -> Option<&Value> {
        self.details.iter().find(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with(type_suffix))
        })
    }

    /// The wait `google.rpc.RetryInfo` asks for: a protobuf Duration such as `"13s"`.
    fn retry_delay(&self) -> Option<std::time::Duration> {
        let delay = self.detail("google.rpc.RetryInfo")?.get("retryDelay")?;
        let secs: f64 = delay.as_str()?.trim().strip_suffix('s')?.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| std::time::Duration::from_secs_f64(secs))
    }

    /// The first field a `google.rpc.BadRequest` detail names.
    fn field(&self) -> Option<String> {
        let violation = self
            .detail("google.rpc.BadRequest")?
            .get("fieldViolations")?
            .get(0)?;
        violation.get("field")?.as_str().map(str::to_owned)
    }

    fn reason(&self) -> Option<&str> {
        self.detail("google.rpc.ErrorInfo")?.get("reason")?.as_str()
    }
}

/// Maps Google's `{"error":{"code","message","status","details"}}` to the taxonomy, by the
/// canonical `status` first and the HTTP status after.
pub(super) fn map_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) else {
        let message: String = String::from_utf8_lossy(body).chars().take(500).collect();
        return Error::new(kind_for_status(status, headers), message);
    };
    let error = envelope.error;
    let message = error.message.clone().unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let http = match (status, error.code) {
        (200..=299, Some(code)) => code,
        (200..=299, None) => 500,
        _ => status,
    };
    let kind = match error.status.as_deref() {
        // A wrong key is reported as 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
        _ if error.reason() == Some("API_KEY_INVALID") || lower.contains("api key not valid") => {
            ErrorKind::Auth
        }
        Some("INVALID_ARGUMENT")
            if lower.contains("input token count") && lower.contains("exceeds the maximum") =>
        {
            ErrorKind::ContextWindowExceeded
        }
        Some("INVALID_ARGUMENT") | Some("FAILED_PRECONDITION") | Some("OUT_OF_RANGE") => {
            ErrorKind::BadRequest {
                field: error.field(),
            }
        }
        Some("UNAUTHENTICATED") | Some("PERMISSION_DENIED") => ErrorKind::Auth,
        Some("NOT_FOUND") => ErrorKind::Upstream { status: 404 },
        Some("RESOURCE_EXHAUSTED") => ErrorKind::RateLimited {
            retry_after: error.retry_delay().or_else(|| retry_after(headers)),
        },
        Some("INTERNAL") => ErrorKind::Upstream { status: 500 },
        Some("UNAVAILABLE") => ErrorKind::Upstream { status: 503 },
        Some("DEADLINE_EXCEEDED") => ErrorKind::Timeout,
        _ => kind_for_status(http, headers),
    };
    Error::new(kind, message)
}

fn kind_for_status(status: u16, headers: &HeaderMap) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Auth,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited {
            retry_after: retry_after(headers),
        },
        400 | 422 => ErrorKind::BadRequest { field: None },
        _ => ErrorKind::Upstream { status },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::sse::SseParser;
    use crate::types::Tool;

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest::new("alias", messages)
    }

    fn calling(calls: &[(&str, &str, &str)]) -> Message {
        Message {
            content: None,
            tool_calls: Some(
                calls
                    .iter()
                    .map(|(id, name, args)| ToolCall {
                        id: (*id).into(),
                        kind: "function".into(),
                        function: FunctionCall {
                            name: (*name).into(),
                            arguments: (*args).into(),
                        },
                    })
                    .collect(),
            ),
            ..Message::assistant("")
        }
    }

    #[test]
    fn translates_roles_system_and_generation_config() {
        let mut req = request(vec![
            Message::system("Be brief."),
            Message {
                role: Role::Developer,
                ..Message::system("Use metric units.")
            },
            Message::user("Hi"),
            Message::assistant("Hello!"),
            Message::user("Weather?"),
        ]);
        req.temperature = Some(0.2);
        req.top_p = Some(0.9);
        req.max_completion_tokens = Some(256);
        req.stop = Some(crate::types::Stop::Many(vec!["END".into()]));
        req.seed = Some(7);
        req.n = Some(2);
        req.response_format = Some(ResponseFormat::JsonObject);
        req.extra.insert(
            "generationConfig".into(),
            json!({"thinkingConfig": {"thinkingBudget": 0}}),
        );
        req.extra.insert(
            "safetySettings".into(),
            json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]),
        );
        let body = to_gemini(&req).unwrap();
        assert_eq!(
            body["systemInstruction"],
            json!({"parts": [{"text": "Be brief.\n\nUse metric units."}]})
        );
        assert_eq!(
            body["contents"],
            json!([
                {"role": "user", "parts": [{"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "Hello!"}]},
                {"role": "user", "parts": [{"text": "Weather?"}]},
            ])
        );
        assert_eq!(
            body["generationConfig"],
            json!({
                "temperature": 0.2, "topP": 0.9, "maxOutputTokens": 256,
                "stopSequences": ["END"], "seed": 7, "candidateCount": 2,
                "responseMimeType": "application/json",
                "thinkingConfig": {"thinkingBudget": 0}
            })
        );
        assert!(body["safetySettings"].is_array());
    }

    #[test]
    fn tool_calls_and_results_round_trip_by_name() {
        let mut req = request(vec![
            Message::user("Paris and Rome?"),
            calling(&[
                ("call_a", "get_weather", r#"{"city":"Paris"}"#),
                ("call_b", "get_time", r#"{"city":"Rome"}"#),
            ]),
            Message::tool("call_a", r#"{"temp": 18}"#),
            Message::tool("call_b", "14:00"),
        ]);
        req.tools = Some(vec![Tool::function(
            "get_weather",
            "Weather now",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false}),
        )]);
        req.response_format = Some(
            serde_json::from_value(json!({
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": {"type": "object"}}
            }))
            .unwrap(),
        );
        let body = to_gemini(&req).unwrap();
        let contents = body["contents"].as_array().unwrap();
        assert_eq!(contents.len(), 3);
        assert_eq!(
            contents[1],
            json!({"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_time", "args": {"city": "Rome"}}},
            ]})
        );
        assert_eq!(
            contents[2],
            json!({"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 18}}},
                {"functionResponse": {"name": "get_time", "response": {"output": "14:00"}}},
            ]})
        );
        assert_eq!(
            body["tools"],
            json!([{"functionDeclarations": [{
                "name": "get_weather",
                "description": "Weather now",
                "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false}
            }]}])
        );
        assert_eq!(
            body["generationConfig"]["responseJsonSchema"],
            json!({"type": "object"})
        );

        let orphan = request(vec![Message::user("x"), Message::tool("call_zz", "1")]);
        assert_eq!(
            to_gemini(&orphan).unwrap_err().field(),
            Some("messages[1].tool_call_id")
        );
        let bad = request(vec![Message::user("x"), calling(&[("c", "f", "nope")])]);
        assert_eq!(
            to_gemini(&bad).unwrap_err().field(),
            Some("messages[1].tool_calls[0].function.arguments")
        );
    }

    #[test]
    fn tool_choice_modes() {
        let config = |choice: Value| {
            let mut req = request(vec![Message::user("x")]);
            req.tool_choice = Some(serde_json::from_value(choice).unwrap());
            to_gemini(&req).unwrap()["toolConfig"]["functionCallingConfig"].clone()
        };
        assert_eq!(config(json!("auto")), json!({"mode": "AUTO"}));
        assert_eq!(config(json!("required")), json!({"mode": "ANY"}));
        assert_eq!(config(json!("none")), json!({"mode": "NONE"}));
        assert_eq!(
            config(json!({"type": "function", "function": {"name": "lookup"}})),
            json!({"mode": "ANY", "allowedFunctionNames": ["lookup"]})
        );
    }

    #[test]
    fn image_parts() {
        let parts: Vec<ContentPart> = serde_json::from_value(json!([
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.PNG?x=1"}},
        ]))
        .unwrap();
        let req = request(vec![Message {
            content: Some(Content::Parts(parts)),
            ..Message::user("")
        }]);
        let body = to_gemini(&req).unwrap();
        assert_eq!(
            body["contents"][0]["parts"],
            json!([
                {"text": "Compare"},
                {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
                {"fileData": {"fileUri": "https://example.com/a.PNG?x=1", "mimeType": "image/png"}},
            ])
        );
    }

    #[test]
    fn translates_a_function_call_response() {
        let response: GeminiResponse = serde_json::from_value(json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "thinking...", "thought": true},
                    {"text": "Let me check."},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
                ]},
                "finishReason": "STOP",
                "index": 0,
                "safetyRatings": []
            }],
            "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 12,
                              "thoughtsTokenCount": 8, "totalTokenCount": 60,
                              "cachedContentTokenCount": 16},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "resp-123"
        }))
        .unwrap();
        let out = from_gemini(response, "fallback").unwrap();
        assert_eq!(out.id, "resp-123");
        assert_eq!(out.model, "gemini-2.5-flash");
        assert_eq!(out.text(), "Let me check.");
        let choice = &out.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        assert!(choice.extra.contains_key("safetyRatings"));
        let call = &choice.message.tool_calls.as_ref().unwrap()[0];
        assert!(call.id.starts_with("call_"));
        assert_eq!(call.function.name, "get_weather");
        assert_eq!(call.function.arguments, r#"{"city":"Paris"}"#);
        let usage = out.usage.unwrap();
        assert_eq!(usage.prompt_tokens, 40);
        assert_eq!(usage.completion_tokens, 20);
        assert_eq!(usage.total_tokens, 60);
        assert_eq!(usage.cached_tokens(), 16);
        assert_eq!(
            usage.completion_tokens_details.unwrap().reasoning_tokens,
            Some(8)
        );
    }

    #[test]
    fn translates_the_shared_fixture() {
        let raw = include_str!("../../tests/fixtures/gemini_response.json");
        let response = from_gemini(serde_json::from_str(raw).unwrap(), "fallback").unwrap();
        assert_eq!(response.id, "hC1xaOj4Kc6n1PIPpJm3iAM");
        assert_eq!(response.model, "gemini-2.5-flash");
        assert_eq!(response.text(), "Let me look that up.");
        let choice = &response.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(choice.extra["avgLogprobs"], json!(-0.0534));
        let calls = choice.message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].function.arguments, r#"{"location":"Boston, MA"}"#);
        let usage = response.usage.as_ref().unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (62, 18));
        let encoded = serde_json::to_value(&response).unwrap();
        let again: ChatResponse = serde_json::from_value(encoded).unwrap();
        assert_eq!(again, response);
    }

    #[test]
    fn finish_reasons_and_blocked_prompts() {
        assert_eq!(finish_reason("STOP", false), FinishReason::Stop);
        assert_eq!(finish_reason("MAX_TOKENS", false), FinishReason::Length);
        for r in [
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
        ] {
            assert_eq!(finish_reason(r, false), FinishReason::ContentFilter);
        }
        let blocked: GeminiResponse = serde_json::from_value(json!({
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}
        }))
        .unwrap();
        let error = from_gemini(blocked, "m").unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::ContentPolicy);

        let response: GeminiResponse = serde_json::from_value(json!({
            "candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]
        }))
        .unwrap();
        let out = from_gemini(response, "gemini-x").unwrap();
        assert_eq!(out.model, "gemini-x");
        assert!(out.id.starts_with("chatcmpl-"));
    }

    fn map(status: u16, body: &str) -> Error {
        map_error(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn maps_documented_error_bodies() {
        let e = map(
            429,
            r#"{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED","details":[
                {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests"}]},
                {"@type":"type.googleapis.com/google.rpc.Help","links":[]},
                {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"22s"}]}}"#,
        );
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(22)));

        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "5".parse().unwrap());
        let e = map_error(
            429,
            &headers,
            br#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(5)));

        let e = map(
            400,
            r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::ContextWindowExceeded);

        let e = map(
            400,
            r#"{"error":{"code":400,"message":"Invalid value at 'generation_config.temperature'","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"generation_config.temperature","description":"Invalid value"}]}]}}"#,
        );
        assert_eq!(e.field(), Some("generation_config.temperature"));

        let e = map(
            400,
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Auth);

        let e = map(
            400,
            r#"{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}"#,
        );
        assert!(matches!(e.kind(), ErrorKind::BadRequest { .. }));

        let e = map(
            403,
            r#"{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Auth);
        let e = map(
            404,
            r#"{"error":{"code":404,"message":"models/gemini-9 is not found","status":"NOT_FOUND"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Upstream { status: 404 });
        let e = map(
            503,
            r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Upstream { status: 503 });
        assert!(e.is_retryable());
        let e = map(
            500,
            r#"{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Upstream { status: 500 });
        let e = map(
            504,
            r#"{"error":{"code":504,"message":"Deadline exceeded","status":"DEADLINE_EXCEEDED"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Timeout);
    }

    #[test]
    fn embeddings_request_and_response() {
        let mut req = EmbeddingRequest::new("alias", vec!["a".to_owned(), "b".to_owned()]);
        req.dimensions = Some(256);
        let body = to_batch_embed(&req, "text-embedding-004").unwrap();
        assert_eq!(
            body,
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 256},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 256},
            ]})
        );
        let tokens = EmbeddingRequest::new("alias", crate::types::EmbeddingInput::Tokens(vec![1]));
        assert_eq!(
            to_batch_embed(&tokens, "m").unwrap_err().field(),
            Some("input")
        );
        let response: BatchEmbedResponse = serde_json::from_value(json!({
            "embeddings": [{"values": [0.1, 0.2]}, {"values": [0.3, 0.4]}]
        }))
        .unwrap();
        let out = from_batch_embed(response, "text-embedding-004");
        assert_eq!(out.data.len(), 2);
        assert_eq!(out.data[1].index, 1);
        assert_eq!(out.data[1].embedding, vec![0.3, 0.4]);
    }

    /// A recorded stream: text in two frames, a function call, then the final frame with
    /// `finishReason` and usage. Real Gemini separates frames with CRLF CRLF.
    const STREAM: &str = concat!(
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The weather\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 21,\"totalTokenCount\": 21},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"Zc4hacW6Ofmk\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" in Paris:\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 21,\"totalTokenCount\": 21},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"Zc4hacW6Ofmk\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}}}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 21,\"totalTokenCount\": 21},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"Zc4hacW6Ofmk\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 21,\"candidatesTokenCount\": 14,\"totalTokenCount\": 35},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"Zc4hacW6Ofmk\"}\r\n\r\n",
    );

    fn run(input: &str, piece: usize) -> (Vec<ChatChunk>, Result<()>, bool) {
        let mut parser = SseParser::new();
        let mut decoder = GeminiDecoder::new("fallback");
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
    fn decodes_a_recorded_stream() {
        for piece in [1, 9, STREAM.len()] {
            let (chunks, result, done) = run(STREAM, piece);
            result.unwrap();
            assert!(done);
            assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
            assert!(chunks.iter().all(|c| c.id == "Zc4hacW6Ofmk"));
            assert!(chunks.iter().all(|c| c.model == "gemini-2.0-flash"));
            let text: String = chunks.iter().map(ChatChunk::text).collect();
            assert_eq!(text, "The weather in Paris:");
            let calls: Vec<&ToolCallDelta> = chunks
                .iter()
                .flat_map(|c| &c.choices)
                .flat_map(|c| c.delta.tool_calls.iter().flatten())
                .collect();
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].index, 0);
            assert!(calls[0].id.as_deref().unwrap().starts_with("call_"));
            let f = calls[0].function.as_ref().unwrap();
            assert_eq!(f.name.as_deref(), Some("get_weather"));
            assert_eq!(f.arguments.as_deref(), Some(r#"{"city":"Paris"}"#));
            let finish = &chunks[chunks.len() - 2];
            assert_eq!(
                finish.choices[0].finish_reason,
                Some(FinishReason::ToolCalls)
            );
            let usage = chunks.last().unwrap().usage.as_ref().unwrap();
            assert_eq!(
                (
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.total_tokens
                ),
                (21, 14, 35)
            );
        }
    }

    #[test]
    fn a_stream_without_finish_reason_is_not_done() {
        let cut = &STREAM[..STREAM.rfind("data:").unwrap()];
        let (chunks, result, done) = run(cut, 11);
        result.unwrap();
        assert!(!done);
        assert!(chunks.iter().all(|c| c.usage.is_none()));
    }

    #[test]
    fn error_frame_mid_stream() {
        let input = concat!(
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": \"model\"},\"index\": 0}]}\r\n\r\n",
            "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n",
        );
        let (_, result, done) = run(input, 16);
        let error = result.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Upstream { status: 503 });
        assert!(!done);
    }
}
