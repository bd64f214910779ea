//! The call-log pruning job `serve` runs: logged calls past their app's retention (stamped
//! on each row as `expires_at` when stored, and moved when the policy's retention changes)
//! are deleted at start and then every [`PRUNE_EVERY`].

use std::time::Duration;

use crate::store::Store;
use crate::util::now_ms;

/// How often the job runs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Runs the job until the process ends.
pub fn spawn_pruning(store: Store) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            match store.prune_call_logs(now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "call logs past retention pruned"),
                Err(e) => tracing::error!(error = %e, "cannot prune call logs"),
            }
        }
    })
}
