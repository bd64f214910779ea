//! What the shared tier did and how often it fell back: the metric that says Redis is
//! slow or down while calls go on without it.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// What a Redis operation was for, so its fallback is counted where it belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Cache,
    Limit,
}

impl Purpose {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Purpose::Cache => "cache",
            Purpose::Limit => "rate_limit",
        }
    }
}

/// Counters of one [`super::Redis`]; relaxed atomics, read by [`Stats::snapshot`].
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub cache_writes: AtomicU64,
    pub cache_oversize: AtomicU64,
    pub coalesce_waits: AtomicU64,
    cache_fallbacks: AtomicU64,
    pub limit_checks: AtomicU64,
    limit_fallbacks: AtomicU64,
}

/// The shared tier's counters since the client was built (in [`crate::telemetry::MetricsSnapshot`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SharedTierSnapshot {
    /// Answers read from Redis after an in-process miss.
    pub cache_hits: u64,
    /// Redis lookups that found nothing.
    pub cache_misses: u64,
    /// Answers written to Redis.
    pub cache_writes: u64,
    /// Answers kept in process only, larger than `cache.shared.max_entry_bytes`.
    pub cache_oversize: u64,
    /// Misses that waited for another process's fetch of the same answer.
    pub coalesce_waits: u64,
    /// Cache operations that failed or timed out: the call went on with the in-process tier.
    pub cache_fallbacks: u64,
    /// Shared rate-limit checks answered by Redis.
    pub limit_checks: u64,
    /// Shared rate-limit checks that fell back to the in-process limiter.
    pub limit_fallbacks: u64,
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a fallback here and, with the `otlp` feature, on the exported counter.
    pub(crate) fn fallback(&self, purpose: Purpose) {
        Self::bump(match purpose {
            Purpose::Cache => &self.cache_fallbacks,
            Purpose::Limit => &self.limit_fallbacks,
        });
        #[cfg(feature = "otlp")]
        crate::telemetry::record_shared_fallback(purpose.name());
    }

    pub(crate) fn snapshot(&self) -> SharedTierSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SharedTierSnapshot {
            cache_hits: read(&self.cache_hits),
            cache_misses: read(&self.cache_misses),
            cache_writes: read(&self.cache_writes),
            cache_oversize: read(&self.cache_oversize),
            coalesce_waits: read(&self.coalesce_waits),
            cache_fallbacks: read(&self.cache_fallbacks),
            limit_checks: read(&self.limit_checks),
            limit_fallbacks: read(&self.limit_fallbacks),
        }
    }
}
