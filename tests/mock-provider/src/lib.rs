//! Scriptable mock of the OpenAI, Azure OpenAI, Anthropic, Gemini, Bedrock and Vertex AI HTTP APIs.
//!
//! Conformance tests in every language point Switchyard's provider adapters at it to
//! exercise retries, fallbacks and streaming against faithful wire formats. See
//! `README.md` for the script format and the control API.

mod anthropic;
mod bedrock;
mod control;
mod counters;
mod embedding;
mod faults;
mod gemini;
mod openai;
mod reply;
mod respond;
mod router;
mod script;
mod server;
mod session;
mod sse;
mod usage;
mod vertex;

pub use counters::{Counters, RecordedRequest};
pub use script::{Defaults, Fault, FinishReason, Script, ScriptError, Step, ToolCall, Usage};
pub use server::{MockServer, Session};
pub use usage::UsageBody;
