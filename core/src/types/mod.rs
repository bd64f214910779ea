//! OpenAI-compatible wire types: what callers already speak, whichever provider answers.
//!
//! Every struct keeps the fields it does not model in `extra`, so a provider's additions
//! survive a round trip instead of being silently dropped.

mod chat;
mod content;
mod embeddings;
mod message;
mod models;
mod stream;
mod tool;
mod usage;

pub use chat::{
    ChatRequest, ChatResponse, Choice, FinishReason, JsonSchemaFormat, ResponseFormat, Stop,
    StreamOptions,
};
pub use content::{Content, ContentPart, ImageUrl};
pub use embeddings::{
    Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage,
};
pub use message::{Message, Role};
pub use models::{ModelInfo, ModelList};
pub use stream::{ChatChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta};
pub use tool::{FunctionCall, FunctionDefinition, NamedToolChoice, Tool, ToolCall, ToolChoice};
pub use usage::{CompletionTokensDetails, PromptTokensDetails, Usage};

/// Unmodelled fields, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;
