//! Health and capacity (`docs/capacity.md`): per-deployment health from the usage
//! rollups, demand forecasts from their hourly sums, and the replicas self-hosted
//! deployments need, kept fresh for the Prometheus gauge by a background task.

pub mod forecast;
pub mod health;
pub mod report;

use std::time::Duration;

use crate::state::AppState;
use crate::store::{Page, Result};
use crate::util::now_ms;

/// Health and the capacity report of one tenant, the gauge updated with its replicas.
pub async fn tenant_report(
    state: &AppState,
    tenant_id: &str,
) -> Result<(Vec<health::DeploymentHealth>, Vec<report::CapacityRow>)> {
    let now = now_ms();
    let tenant = state.store.tenant(tenant_id);
    let minutes = tenant
        .deployment_minutes(now - health::PEAK_SPAN_MS)
        .await?;
    let health = health::health(&minutes, now);
    let rows = report::report(&tenant, &health, now).await?;
    state.metrics.set_replicas(
        tenant_id,
        rows.iter()
            .filter_map(|r| Some((r.deployment.clone(), r.replicas_now?, r.replicas_at_peak?)))
            .collect(),
    );
    Ok((health, rows))
}

/// Recomputes every tenant's report each `every`, so the replica gauge stays current
/// without anyone asking for the report.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let tenants = match state
                .store
                .list_tenants(Page {
                    limit: 500,
                    offset: 0,
                })
                .await
            {
                Ok(t) => t,
                Err(error) => {
                    tracing::warn!(%error, "capacity: tenants not listed");
                    continue;
                }
            };
            for t in tenants {
                if let Err(error) = tenant_report(&state, &t.id).await {
                    tracing::warn!(%error, tenant = t.id, "capacity report not computed");
                }
            }
        }
    })
}
