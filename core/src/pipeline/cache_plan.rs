//! Step 2's plan: whether a call may be answered from the cache, under which key, and for
//! how long its answer is kept. One plan for chat, embeddings and streams.

use std::time::Duration;

use super::request::Request;
use super::runtime::{ModelRoute, Runtime};
use crate::cache::{CacheControl, CacheKey};

/// Where step 2 looks and stores.
pub(crate) struct CachePlan {
    pub key: CacheKey,
    pub ttl: Duration,
    /// Skip the lookup, store the fresh answer.
    pub refresh: bool,
}

/// `None` when the call may neither read nor write the cache: the model's mode (or the
/// config's default) and the caller's `control` decide.
pub(crate) fn plan<R: Request>(
    runtime: &Runtime,
    route: &ModelRoute,
    request: &R,
    control: CacheControl,
) -> Option<CachePlan> {
    let policy = route.config.cache.as_ref();
    let mode = policy.map_or(runtime.config.cache.mode, |p| p.mode);
    if !request.cacheable(mode, control) {
        return None;
    }
    let ttl = policy
        .and_then(|p| p.ttl_secs)
        .unwrap_or(runtime.config.cache.default_ttl_secs);
    Some(CachePlan {
        key: request.cache_key(&route.alias),
        ttl: Duration::from_secs(ttl),
        refresh: matches!(control, CacheControl::Refresh),
    })
}
