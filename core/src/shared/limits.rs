//! Rate limits shared across processes: the in-process GCRA (`budget/gcra.rs`) run in
//! Redis by one Lua script per check, over every shared bucket the call touches, so a
//! check is atomic and all-or-nothing like the in-process one. Time is Redis's clock, so
//! processes on hosts whose clocks disagree still share one schedule.

use std::sync::Arc;
use std::time::Duration;

use ::redis::Script;

use super::Redis;
use super::stats::{Purpose, Stats};

/// One bucket a call takes from: its key and GCRA parameters, and this take's cost.
#[derive(Debug, Clone)]
pub(crate) struct BucketSpec {
    pub key: String,
    pub interval_ns: u64,
    pub allowance_ns: u64,
    pub cost: u64,
}

/// The script's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Every bucket took its cost.
    All,
    /// Bucket `index` refused, and would admit after `wait`; nothing was taken.
    Refused { index: usize, wait: Duration },
}

/// The shared limits of one client, on its [`Redis`].
#[derive(Debug)]
pub(crate) struct SharedLimits {
    redis: Arc<Redis>,
    script: Script,
}

impl SharedLimits {
    pub(crate) fn new(redis: Arc<Redis>) -> Self {
        SharedLimits {
            redis,
            script: Script::new(include_str!("gcra.lua")),
        }
    }

    /// The key of limit `name`'s bucket of `kind` (`rpm` or `tpm`) for scope value `value`.
    pub(crate) fn bucket_key(&self, name: &str, value: &str, kind: &str) -> String {
        self.redis.key(&format!("limit:{name}:{kind}:{value}"))
    }

    /// Takes from every bucket in one script run, or from none. `None` when Redis could not
    /// answer: the caller falls back to its in-process buckets.
    pub(crate) async fn take(&self, buckets: &[BucketSpec]) -> Option<Taken> {
        let mut invocation = self.script.prepare_invoke();
        for bucket in buckets {
            invocation
                .key(&bucket.key)
                .arg(micros(bucket.interval_ns))
                .arg(micros(bucket.allowance_ns))
                .arg(bucket.cost);
        }
        let (index, wait_us): (usize, u64) = self
            .redis
            .run(Purpose::Limit, |mut c| async move {
                invocation.invoke_async(&mut c).await
            })
            .await?;
        Stats::bump(&self.redis.stats.limit_checks);
        Some(match index {
            0 => Taken::All,
            i => Taken::Refused {
                index: i - 1,
                wait: Duration::from_micros(wait_us),
            },
        })
    }
}

/// Nanoseconds as the script's microseconds, keeping the fraction of a fast rate.
fn micros(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1_000.0)
}
