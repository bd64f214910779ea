//! The active config of each tenant, parsed once and shared by every SDK request, so that
//! waking a thousand long-polling clients costs a thousand map lookups, not queries.
//! Entries expire after a short TTL so that activations made by another replica are seen.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use switchyard::config::Config;

use crate::store::{Result, Store};

const TTL: Duration = Duration::from_secs(2);

pub struct Snapshot {
    pub version_id: String,
    pub number: i64,
    pub config: Config,
    loaded: Instant,
}

#[derive(Default)]
pub struct ConfigCache {
    entries: RwLock<HashMap<String, Option<Arc<Snapshot>>>>,
}

impl ConfigCache {
    pub fn invalidate(&self, tenant_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(tenant_id);
        }
    }

    /// The tenant's active config, `None` when no version is active.
    pub async fn get(&self, store: &Store, tenant_id: &str) -> Result<Option<Arc<Snapshot>>> {
        if let Ok(entries) = self.entries.read() {
            if let Some(Some(s)) = entries.get(tenant_id) {
                if s.loaded.elapsed() < TTL {
                    return Ok(Some(s.clone()));
                }
            }
        }
        let tenant = store.tenant(tenant_id);
        let snapshot = match tenant.active().await? {
            None => None,
            Some(active) => {
                let version = tenant.get_version(&active.version_id).await?;
                let config = crate::store::check_document(&version.document)?;
                Some(Arc::new(Snapshot {
                    version_id: version.id,
                    number: version.number,
                    config,
                    loaded: Instant::now(),
                }))
            }
        };
        if let Ok(mut entries) = self.entries.write() {
            if snapshot.is_some() {
                entries.insert(tenant_id.to_owned(), snapshot.clone());
            }
        }
        Ok(snapshot)
    }
}

/// Wakes long-polling clients for activations made by other replicas sharing the
/// database: polls the newest activation time once a second.
pub fn spawn_activation_watch(state: crate::state::AppState) {
    tokio::spawn(async move {
        let mut last: Option<i64> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let latest: Result<(Option<i64>,), _> =
                sqlx::query_as("SELECT MAX(activated_at) FROM active_configs")
                    .fetch_one(&state.store.db.pool)
                    .await;
            if let Ok((latest,)) = latest {
                if last.is_some() && latest != last {
                    if let Ok(mut entries) = state.configs.entries.write() {
                        entries.clear();
                    }
                    state.activations.send_modify(|n| *n += 1);
                }
                last = latest.or(Some(0));
            }
        }
    });
}
