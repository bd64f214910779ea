//! The active config of each tenant, parsed once and shared by every SDK request, so that
//! waking a thousand long-polling clients costs map lookups, not queries.
//! Entries expire after a short TTL (a safety net): on PostgreSQL a change committed by
//! another replica drops its tenant's entry as soon as this replica hears of it
//! (`crate::cluster::listener`); on SQLite a watch sees activations the CLI makes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use switchyard::config::Config;
use tokio::sync::watch;

use crate::store::{Result, Store};

const TTL: Duration = Duration::from_secs(2);

pub struct Snapshot {
    pub version_id: String,
    pub number: i64,
    pub config: Config,
    loaded: Instant,
    /// The config as resolved for each app, made once per snapshot: a thousand clients of
    /// one app woken by an activation share one resolution.
    resolved: Mutex<HashMap<String, Arc<Resolved>>>,
    /// One resolution at a time: the thousand clients an activation wakes wait for the
    /// first one's instead of each reading the app from the database.
    pub resolving: tokio::sync::Mutex<()>,
}

/// A response body for one app, with its ETag.
pub struct Resolved {
    pub body: axum::body::Bytes,
    pub etag: String,
    pub number: i64,
}

impl Snapshot {
    pub fn resolved_for(&self, app_id: &str) -> Option<Arc<Resolved>> {
        self.resolved.lock().ok()?.get(app_id).cloned()
    }

    pub fn remember(&self, app_id: &str, resolved: Arc<Resolved>) {
        if let Ok(mut memo) = self.resolved.lock() {
            memo.insert(app_id.to_owned(), resolved);
        }
    }
}

#[derive(Default)]
pub struct ConfigCache {
    entries: RwLock<HashMap<String, Option<Arc<Snapshot>>>>,
    /// Bumped (under the `entries` lock) by every invalidation: a snapshot read from the
    /// database before one is not kept, or an activation heard while it was being read
    /// would be hidden behind it for the TTL from the clients it just woke.
    generation: AtomicU64,
    /// One reload at a time: when an activation wakes a thousand clients, one of them
    /// loads the new version and the rest find it cached.
    reload: tokio::sync::Mutex<()>,
}

impl ConfigCache {
    fn fresh(&self, tenant_id: &str) -> Option<Arc<Snapshot>> {
        let entries = self.entries.read().ok()?;
        match entries.get(tenant_id) {
            Some(Some(s)) if s.loaded.elapsed() < TTL => Some(s.clone()),
            _ => None,
        }
    }

    pub fn invalidate(&self, tenant_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(tenant_id);
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Drops every tenant's entry.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// On SQLite, wakes long-polling clients for activations made by another process on
    /// the same file (the CLI): asks the store for the newest activation time once a
    /// second, and on a change drops every cached config and bumps `activations`.
    pub fn spawn_activation_watch(
        self: &Arc<Self>,
        store: Store,
        activations: Arc<watch::Sender<u64>>,
    ) {
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            // The first answer is the baseline, not a change.
            let mut last: Option<Option<i64>> = None;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                match store.latest_activation().await {
                    Ok(latest) => {
                        if last.is_some_and(|seen| seen != latest) {
                            cache.clear();
                            activations.send_modify(|n| *n += 1);
                        }
                        last = Some(latest);
                    }
                    Err(error) => {
                        tracing::debug!(%error, "activation watch: cannot read the store")
                    }
                }
            }
        });
    }

    /// The tenant's active config, `None` when no version is active.
    pub async fn get(&self, store: &Store, tenant_id: &str) -> Result<Option<Arc<Snapshot>>> {
        if let Some(s) = self.fresh(tenant_id) {
            return Ok(Some(s));
        }
        let _reloading = self.reload.lock().await;
        if let Some(s) = self.fresh(tenant_id) {
            return Ok(Some(s));
        }
        let generation = self.generation.load(Ordering::SeqCst);
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
                    resolved: Mutex::new(HashMap::new()),
                    resolving: tokio::sync::Mutex::new(()),
                }))
            }
        };
        if let Ok(mut entries) = self.entries.write() {
            if snapshot.is_some() && self.generation.load(Ordering::SeqCst) == generation {
                entries.insert(tenant_id.to_owned(), snapshot.clone());
            }
        }
        Ok(snapshot)
    }
}
