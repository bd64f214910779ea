//! The call-log pruning job `serve` runs: logged calls past their app's retention (stamped
//! on each row as `expires_at` when stored, and moved when the policy's retention changes)
//! are deleted at start (or when this replica takes the job over) and then every
//! [`PRUNE_EVERY`].

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::leader::{Job, Leaders};
use crate::store::Store;
use crate::util::now_ms;

/// How often the job runs.
pub const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Runs the job until the process ends, on the replica that leads it.
pub fn spawn_pruning(store: Store, leaders: Arc<Leaders>) -> tokio::task::JoinHandle<()> {
    leaders.spawn_periodic(Job::CallLogRetention, PRUNE_EVERY, move || {
        let store = store.clone();
        async move {
            match store.prune_call_logs(now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "call logs past retention pruned"),
                Err(e) => tracing::error!(error = %e, "cannot prune call logs"),
            }
        }
    })
}
