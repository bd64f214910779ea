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
