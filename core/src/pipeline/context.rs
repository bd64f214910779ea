//! One call's state as it moves through the pipeline: who it is charged to, its deadline,
//! its stickiness key, and what the attempts did.

use std::time::{Duration, Instant};

use super::options::CallOptions;
use super::runtime::Runtime;
use crate::budget::CallScope;
use crate::config::StickyKey;

pub(crate) struct CallContext {
    pub started: Instant,
    pub deadline: Option<Instant>,
    pub scope: CallScope,
    pub sticky_key: Option<String>,
    pub pinned: Option<String>,
    pub attempts: u32,
    pub fallback: Option<String>,
    /// How many times the call moved to another model (a fallback or a budget reroute).
    pub fallbacks: u32,
    /// The rollout arm (version label) of the first deployment with one that the call was
    /// sent to, answered or failed: its assignment.
    pub arm: Option<String>,
    /// A deployment (route alias, index) to avoid at first: the one a stream just broke on.
    pub avoid: Option<(String, usize)>,
    /// The tokens each attempt charges a deployment's capacity (0 unless one counts tpm).
    pub capacity_tokens: u64,
    /// The `gen_ai.provider.name` of the last deployment attempted, for telemetry.
    pub provider_name: Option<&'static str>,
    /// The caller's cap on retries per model (`CallOptions::max_retries`).
    pub max_retries: Option<u32>,
    /// The server lease the call was admitted under, for its usage event.
    pub lease: Option<std::sync::Arc<str>>,
    /// How many values of each PII kind guardrails masked in the request.
    pub masked: std::collections::BTreeMap<crate::redact::PiiKind, u32>,
}

impl CallContext {
    /// A call to `alias` begins: its scope from the options, else the request's `user`
    /// and the config's identity; its deadline from the options, else the model's.
    pub fn begin(
        runtime: &Runtime,
        alias: &str,
        request_user: Option<&str>,
        options: &CallOptions,
    ) -> CallContext {
        let identity = &runtime.config.identity;
        let user = options
            .user
            .clone()
            .or_else(|| request_user.map(str::to_owned));
        let scope = CallScope {
            tenant: options.tenant.clone().or_else(|| identity.tenant.clone()),
            app: options.app.clone().or_else(|| identity.app.clone()),
            user,
            model: alias.to_owned(),
            tags: options.tags.clone(),
        };
        let rollout_key = runtime
            .routes
            .get(alias)
            .and_then(|r| r.config.rollout.as_ref())
            .map(|rollout| rollout.sticky_by);
        let sticky_key = match rollout_key {
            Some(StickyKey::Session) => options.session.clone(),
            Some(StickyKey::Tenant) => scope.tenant.clone(),
            Some(StickyKey::User) | None => scope.user.clone(),
        };
        let started = Instant::now();
        let timeout = options.timeout.or_else(|| {
            runtime
                .routes
                .get(alias)
                .and_then(|r| r.config.deadline_ms)
                .map(Duration::from_millis)
        });
        CallContext {
            started,
            deadline: timeout.map(|t| started + t),
            scope,
            sticky_key,
            pinned: options.deployment.clone(),
            attempts: 0,
            fallback: None,
            fallbacks: 0,
            arm: None,
            avoid: None,
            capacity_tokens: 0,
            provider_name: None,
            max_retries: options.max_retries,
            lease: None,
            masked: Default::default(),
        }
    }
}
