//! The leases alive in this process, so that exit can return them all (a binding's
//! `at_exit` runs before the runtime stops). Entries carry the id of the process that
//! made them: a forked child inherits them in memory but not their renewers.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::renew::Control;

static LEASES: Mutex<Vec<(u32, Weak<Control>)>> = Mutex::new(Vec::new());

pub(crate) fn register(control: &Arc<Control>) {
    let mut leases = LEASES.lock().unwrap_or_else(|p| p.into_inner());
    leases.retain(|(_, c)| c.strong_count() > 0);
    leases.push((std::process::id(), Arc::downgrade(control)));
}

/// Returns every lease of this process, waiting up to `limit` in all. Needs a tokio
/// runtime with time.
pub async fn return_all(limit: Duration) {
    let pid = std::process::id();
    let live: Vec<Arc<Control>> = LEASES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(made_by, _)| *made_by == pid)
        .filter_map(|(_, c)| c.upgrade())
        .collect();
    futures_util::future::join_all(live.iter().map(|c| c.close_within(limit))).await;
}
