//! The retention job `serve` runs: raw usage events older than the retention period are
//! deleted once at start (or when this replica takes the job over) and then every hour, with the leases that ended before it (and
//! rate shares done cooling); the per-minute rollups are kept for good.

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::leader::{Job, Leaders};
use crate::store::Store;
use crate::util::now_ms;

/// How often the job runs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs the job until the process ends, on the replica that leads it.
pub fn spawn_pruning(
    store: Store,
    leaders: Arc<Leaders>,
    retention_days: u32,
) -> tokio::task::JoinHandle<()> {
    leaders.spawn_periodic(Job::UsageRetention, PRUNE_EVERY, move || {
        let store = store.clone();
        async move {
            let cutoff = now_ms() - i64::from(retention_days) * 86_400_000;
            match store.prune_usage(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, retention_days, "raw usage events pruned"),
                Err(e) => tracing::error!(error = %e, "cannot prune raw usage events"),
            }
            match store.prune_leases(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, retention_days, "ended leases pruned"),
                Err(e) => tracing::error!(error = %e, "cannot prune ended leases"),
            }
        }
    })
}
