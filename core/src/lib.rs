//! Switchyard engine: routes, retries, falls back, caches and meters LLM calls in-process.
//!
//! Callers speak OpenAI's wire shapes ([`types`]); [`providers`] translate to each
//! upstream API; [`Client`] runs the request pipeline over a [`config::Config`].

pub mod binding;
pub mod budget;
pub mod cache;
pub mod call_log;
pub mod client;
pub mod config;
pub mod error;
pub mod estimate;
mod files;
pub mod guardrails;
pub mod lease;
mod pipeline;
pub mod pricing;
pub mod process;
pub mod providers;
pub mod redact;
pub mod retry;
pub mod routing;
pub mod sdk_protocol;
pub mod shared;
pub mod stream;
pub mod telemetry;
pub mod types;
pub mod usage;
pub mod validate;

pub use client::{
    CallMeta, CallOptions, CallStream, ChatOutcome, Client, ClientBuilder, ConfigServer,
    EmbedOutcome,
};
pub use error::{Error, ErrorKind, Result};

/// The crate version, reported by every binding and the server.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
