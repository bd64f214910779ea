//! The gateway's app clients lease the server's budgets and rate limits like any SDK
//! instance, but straight from the store rather than over HTTP: one instance per app
//! client, the same grants, renewals and returns, so the guarantee in `docs/budgets.md`
//! covers gateway calls and SDK calls together.

use switchyard::lease::{LeaseAnswer, LeaseTransport};
use switchyard::sdk_protocol::{LeaseRequest, LeaseReturn};
use tokio::runtime::Handle;

use crate::api::leases::ask_of;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;

/// Leases for one app, from this server's store.
pub struct StoreLeases {
    state: AppState,
    tenant_id: String,
    app_id: String,
    /// The server's runtime: the renewer runs on a thread of its own, and the database's
    /// connections belong to this runtime.
    runtime: Handle,
}

impl StoreLeases {
    /// Leases for `app_id` of `tenant_id`; call on the server's runtime.
    pub fn new(state: &AppState, tenant_id: &str, app_id: &str) -> StoreLeases {
        StoreLeases {
            state: state.clone(),
            tenant_id: tenant_id.to_owned(),
            app_id: app_id.to_owned(),
            runtime: Handle::current(),
        }
    }
}

#[async_trait::async_trait]
impl LeaseTransport for StoreLeases {
    async fn acquire(&self, request: &LeaseRequest) -> LeaseAnswer {
        let named = request.lease.is_some();
        let ask = match ask_of(request.clone()) {
            Ok(ask) => ask,
            Err(error) => {
                return LeaseAnswer::Retry {
                    error: error.to_string(),
                    after: None,
                };
            }
        };
        let (state, tenant, app) = (
            self.state.clone(),
            self.tenant_id.clone(),
            self.app_id.clone(),
        );
        let granted = self
            .runtime
            .spawn(async move {
                state
                    .store
                    .tenant(&tenant)
                    .lease(&app, &ask, state.leases)
                    .await
            })
            .await;
        match granted {
            Ok(Ok(grant)) => LeaseAnswer::Granted(grant),
            Ok(Err(StoreError::Gone(_))) => LeaseAnswer::Gone,
            Ok(Err(StoreError::NotFound)) if named => LeaseAnswer::Gone,
            Ok(Err(error)) => LeaseAnswer::Retry {
                error: ApiError::from(error).to_string(),
                after: None,
            },
            Err(error) => LeaseAnswer::Retry {
                error: format!("the lease task failed: {error}"),
                after: None,
            },
        }
    }

    async fn give_back(&self, lease: &str, used: &LeaseReturn) -> bool {
        let (state, tenant, app, lease, used) = (
            self.state.clone(),
            self.tenant_id.clone(),
            self.app_id.clone(),
            lease.to_owned(),
            used.used.clone(),
        );
        let returned = self
            .runtime
            .spawn(async move {
                state
                    .store
                    .tenant(&tenant)
                    .return_lease(&app, &lease, &used, state.leases)
                    .await
            })
            .await;
        match returned {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "gateway: the lease's return was refused; it expires on its own");
                false
            }
            Err(error) => {
                tracing::warn!(%error, "gateway: the lease's return did not run");
                false
            }
        }
    }
}
