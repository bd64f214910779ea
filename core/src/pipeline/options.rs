//! What a caller may say per call, and what it is told back beside the answer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::cache::CacheControl;
use crate::types::{ChatResponse, EmbeddingResponse};

/// Per-call options. All optional: `CallOptions::default()` is a plain call.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Overall time limit of the call, all attempts and fallbacks included. Overrides the
    /// model's `deadline_ms`.
    pub timeout: Option<Duration>,
    /// Who the call is for: budgets, limits, usage and rollout stickiness use it. Defaults
    /// to the request's `user` field.
    pub user: Option<String>,
    /// The rollout stickiness key when the model's rollout is sticky by session.
    pub session: Option<String>,
    /// Charge the call to this tenant / app instead of the client's identity.
    pub tenant: Option<String>,
    pub app: Option<String>,
    /// Tags for budgets by tag, and for usage reports.
    pub tags: Vec<String>,
    /// Free-form labels carried into the usage event (never sent upstream).
    pub metadata: BTreeMap<String, String>,
    pub cache: CacheControl,
    /// Send the call to this deployment of the model only (by name), skipping routing.
    pub deployment: Option<String>,
}

/// What the pipeline did for a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallMeta {
    /// The logical model that answered (differs from the requested one after a fallback).
    pub model: String,
    pub deployment: String,
    pub provider: String,
    pub upstream_model: String,
    /// Upstream attempts made, across retries and fallbacks (0 for a cache hit).
    pub attempts: u32,
    pub cache_hit: bool,
    /// The fallback model the call moved to, if it did.
    pub fallback: Option<String>,
    pub cost_usd: f64,
    pub latency: Duration,
    /// Answered by the in-process model.
    pub local: bool,
}

/// A chat answer and how it was obtained.
#[derive(Debug, Clone)]
pub struct ChatOutcome {
    pub response: ChatResponse,
    pub meta: CallMeta,
}

/// An embedding answer and how it was obtained.
#[derive(Debug, Clone)]
pub struct EmbedOutcome {
    pub response: EmbeddingResponse,
    pub meta: CallMeta,
}
