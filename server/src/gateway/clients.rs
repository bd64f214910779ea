//! One core `Client` per app, built from the config the app's SDKs get (provider keys
//! opened server-side whatever the app's `secrets_mode`), and swapped to each new config:
//! a request that finds the tenant's config snapshot newer than its client's re-resolves
//! the app's config and, if it changed, reloads the client (calls in flight finish on the
//! old config; health state, cache and budgets carry over, as in the SDK).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};

use switchyard::Client;
use switchyard::config::Config;

use super::GatewayError;
use super::leases::StoreLeases;
use crate::resolve::{Keys, app_config};
use crate::sdk_cache::Snapshot;
use crate::state::AppState;
use crate::store::KeyAuth;
use crate::usage::recorder::UsageRecorder;
use crate::util::sha256_hex;

#[derive(Default)]
pub struct GatewayClients {
    apps: RwLock<HashMap<String, Arc<AppClient>>>,
    /// One first build at a time: a burst of an app's first requests builds one client.
    building: tokio::sync::Mutex<()>,
    /// Where every app client reports its calls' usage.
    usage: UsageRecorder,
}

struct AppClient {
    client: Client,
    built: Mutex<Built>,
    /// One re-resolution at a time; the others keep using the current client meanwhile.
    refreshing: tokio::sync::Mutex<()>,
}

/// What the client's config was resolved from.
struct Built {
    snapshot: Weak<Snapshot>,
    /// Digest of the resolved config (keys included; never leaves memory).
    digest: String,
}

impl AppClient {
    fn current_for(&self, snapshot: &Arc<Snapshot>) -> bool {
        self.built
            .lock()
            .map(|b| b.snapshot.ptr_eq(&Arc::downgrade(snapshot)))
            .unwrap_or(false)
    }
}

impl GatewayClients {
    /// The gateway's usage, for a flush at shutdown.
    pub fn usage(&self) -> &UsageRecorder {
        &self.usage
    }

    /// The client serving `key`'s app under its tenant's active config.
    pub async fn get(&self, state: &AppState, key: &KeyAuth) -> Result<Client, GatewayError> {
        let snapshot = state
            .configs
            .get(&state.store, &key.tenant_id)
            .await
            .map_err(crate::error::ApiError::from)?
            .ok_or(GatewayError::NoConfig)?;
        let existing = self
            .apps
            .read()
            .ok()
            .and_then(|apps| apps.get(&key.app_id).cloned());
        if let Some(entry) = existing {
            if entry.current_for(&snapshot) {
                return Ok(entry.client.clone());
            }
            let Ok(_refreshing) = entry.refreshing.try_lock() else {
                return Ok(entry.client.clone());
            };
            if !entry.current_for(&snapshot) {
                self.refresh(state, key, &snapshot, &entry).await?;
            }
            return Ok(entry.client.clone());
        }
        let _building = self.building.lock().await;
        if let Some(entry) = self
            .apps
            .read()
            .ok()
            .and_then(|apps| apps.get(&key.app_id).cloned())
        {
            return Ok(entry.client.clone());
        }
        let (config, digest) = resolve(state, key, &snapshot).await?;
        let builder = Client::builder()
            .config(config)
            .usage_sink(self.usage.sink(state, key))
            .lease_transport(Arc::new(StoreLeases::new(
                state,
                &key.tenant_id,
                &key.app_id,
            )));
        // A config with a local model loads it here: keep that off the async workers.
        let client = tokio::task::spawn_blocking(move || builder.build())
            .await
            .map_err(|e| crate::error::ApiError::Internal(format!("client build: {e}")))??;
        tracing::info!(app = %key.app_id, version = snapshot.number, "gateway: client built");
        let entry = Arc::new(AppClient {
            client: client.clone(),
            built: Mutex::new(Built {
                snapshot: Arc::downgrade(&snapshot),
                digest,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        });
        if let Ok(mut apps) = self.apps.write() {
            apps.insert(key.app_id.clone(), entry);
        }
        Ok(client)
    }

    /// Re-resolves the app's config under a newer snapshot; reloads the client when the
    /// config differs. A config the engine refuses leaves the old one serving.
    async fn refresh(
        &self,
        state: &AppState,
        key: &KeyAuth,
        snapshot: &Arc<Snapshot>,
        entry: &AppClient,
    ) -> Result<(), GatewayError> {
        let (config, digest) = resolve(state, key, snapshot).await?;
        let changed = entry
            .built
            .lock()
            .map(|b| b.digest != digest)
            .unwrap_or(true);
        if changed {
            match entry.client.reload(config) {
                Ok(()) => {
                    tracing::info!(app = %key.app_id, version = snapshot.number, "gateway: client swapped to a new config")
                }
                Err(error) => {
                    tracing::error!(app = %key.app_id, %error, "gateway: new config refused; the old one keeps serving")
                }
            }
        }
        if let Ok(mut built) = entry.built.lock() {
            *built = Built {
                snapshot: Arc::downgrade(snapshot),
                digest,
            };
        }
        Ok(())
    }
}

async fn resolve(
    state: &AppState,
    key: &KeyAuth,
    snapshot: &Snapshot,
) -> Result<(Config, String), GatewayError> {
    let app = state
        .store
        .tenant(&key.tenant_id)
        .get_app(&key.app_id)
        .await
        .map_err(crate::error::ApiError::from)?;
    let config = app_config(state, snapshot, &key.tenant_id, &app, Keys::Opened).await?;
    let text =
        serde_json::to_vec(&config).map_err(|e| crate::error::ApiError::Internal(e.to_string()))?;
    Ok((config, sha256_hex(&text)))
}
