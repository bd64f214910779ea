//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::audit::CheckpointVerifier;
use crate::auth::key_cache::KeyCache;
use crate::auth::login_throttle::LoginThrottle;
use crate::auth::rate_limit::RateLimiter;
use crate::client_addr::TrustedProxies;
use crate::cluster::leader::Leaders;
use crate::crypto::MasterKey;
use crate::gateway::GatewayClients;
use crate::metrics::Metrics;
use crate::oidc::ProviderCache;
use crate::sdk_cache::ConfigCache;
use crate::store::{LeaseSettings, Store};

/// Argon2 cost: the library default in production; tests use a cheap one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCost {
    Default,
    Test,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub master_key: Option<Arc<MasterKey>>,
    /// Failed authentications per source address and per presented key.
    pub limiter: Arc<RateLimiter>,
    /// Failed password sign-ins per account, and the spacing they bring.
    pub logins: Arc<LoginThrottle>,
    /// App keys verified in the last few seconds.
    pub keys: Arc<KeyCache>,
    /// Whose forwarding headers name the client (none by default).
    pub proxies: Arc<TrustedProxies>,
    pub configs: Arc<ConfigCache>,
    /// Bumped on every activation; long-polling SDK clients wait on it.
    pub activations: Arc<watch::Sender<u64>>,
    pub metrics: Arc<Metrics>,
    pub password_cost: PasswordCost,
    /// Set on shutdown: long-polls answer at once instead of holding shutdown up, and
    /// `/readyz` answers 503.
    pub shutdown: Arc<watch::Sender<bool>>,
    /// The gateway's core client per app.
    pub gateway: Arc<GatewayClients>,
    /// Days raw usage events are kept; older events are refused at ingestion.
    pub usage_retention_days: u32,
    /// Lease timings (`docs/budgets.md`).
    pub leases: LeaseSettings,
    /// Tenants' OpenID providers: metadata and signing keys per issuer.
    pub oidc: Arc<ProviderCache>,
    /// The audit checkpoints the per-tenant verification also checks (when configured).
    pub audit_checkpoints: Option<Arc<CheckpointVerifier>>,
    /// Which background jobs this replica runs (all of them, but on PostgreSQL).
    pub leaders: Arc<Leaders>,
}

impl AppState {
    pub fn new(store: Store, master_key: Option<MasterKey>) -> Self {
        AppState {
            store,
            master_key: master_key.map(Arc::new),
            limiter: Arc::new(RateLimiter::new(10, Duration::from_secs(60))),
            logins: Arc::new(LoginThrottle::default()),
            keys: Arc::new(KeyCache::default()),
            proxies: Arc::new(TrustedProxies::default()),
            configs: Arc::new(ConfigCache::default()),
            activations: Arc::new(watch::channel(0).0),
            metrics: Arc::new(Metrics::default()),
            password_cost: PasswordCost::Default,
            shutdown: Arc::new(watch::channel(false).0),
            gateway: Arc::new(GatewayClients::default()),
            usage_retention_days: 30,
            leases: LeaseSettings::default(),
            oidc: Arc::new(ProviderCache::default()),
            audit_checkpoints: None,
            leaders: Arc::new(Leaders::default()),
        }
    }

    /// After an activation in this process: drop the cached config and wake the waiters.
    pub fn config_changed(&self, tenant_id: &str) {
        self.configs.invalidate(tenant_id);
        self.activations.send_modify(|n| *n += 1);
    }
}
