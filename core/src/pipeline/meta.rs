//! What the pipeline tells a caller it did ([`CallMeta`]), built here only: from the answer
//! a call got (fresh or from the cache), or from the deployment a stream is reading.

use super::cached::CachedAnswer;
use super::context::CallContext;
use super::options::CallMeta;
use super::runtime::ModelRoute;

/// Who answered a call, and at what cost.
pub(crate) struct Origin<'a> {
    model: &'a str,
    deployment: &'a str,
    provider: &'a str,
    upstream_model: &'a str,
    local: bool,
    cost_usd: f64,
    hit: bool,
}

impl<'a> Origin<'a> {
    /// An answer, fresh or a cache `hit`. A hit cost nothing, made no attempt and ran
    /// nothing in process, whatever the call that stored it did.
    pub fn answer(answer: &'a CachedAnswer, hit: bool) -> Self {
        Origin {
            model: &answer.model,
            deployment: &answer.deployment,
            provider: &answer.provider,
            upstream_model: &answer.upstream_model,
            local: !hit && answer.local,
            cost_usd: if hit { 0.0 } else { answer.cost_usd },
            hit,
        }
    }

    /// The deployment `index` of `route`, which a stream is reading: its cost is known
    /// when the stream ends.
    pub fn deployment(route: &'a ModelRoute, index: usize) -> Self {
        let target = &route.targets[index];
        Origin {
            model: &route.alias,
            deployment: &target.name,
            provider: target.provider.name(),
            upstream_model: &target.upstream_model,
            local: target.is_local(),
            cost_usd: 0.0,
            hit: false,
        }
    }

    /// The call's metadata so far.
    pub fn meta(self, call: &CallContext) -> CallMeta {
        CallMeta {
            model: self.model.to_owned(),
            deployment: self.deployment.to_owned(),
            provider: self.provider.to_owned(),
            upstream_model: self.upstream_model.to_owned(),
            attempts: if self.hit { 0 } else { call.attempts },
            cache_hit: self.hit,
            fallback: call.fallback.clone(),
            cost_usd: self.cost_usd,
            latency: call.started.elapsed(),
            local: self.local,
        }
    }
}
