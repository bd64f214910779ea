//! The live leases holding a slice of one budget in its current period, for people
//! reading budgets (`GET /api/v1/budgets/{id}/leases`): which SDK instances hold how much.

use serde::Serialize;

use super::{Result, TenantStore};
use crate::util::now_ms;

/// One live lease's slice of a budget this period, in US dollars.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetLease {
    pub lease_id: String,
    pub app_id: String,
    /// The SDK instance's id, as it named itself.
    pub instance: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Granted to the instance for this period.
    pub granted_usd: f64,
    /// What the instance reported spending of it.
    pub used_usd: f64,
    /// What the server has ingested against it.
    pub ingested_usd: f64,
}

type Row = (String, String, String, i64, i64, i64, i64, i64);

impl TenantStore<'_> {
    /// The leases not returned nor expired with a slice of budget `id` in its current
    /// period, oldest first; not found for another tenant's budget.
    pub async fn budget_leases(&self, id: &str) -> Result<Vec<BudgetLease>> {
        let row = self.budget_row(id).await?;
        let tz = self.time_zone().await?;
        let now = now_ms();
        let (start, _) = row.budget.period.bounds(&tz, now)?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT l.id, l.app_id, l.instance, l.created_at, l.expires_at, \
             s.granted, s.used, s.ingested \
             FROM lease_slices s JOIN leases l ON l.id = s.lease_id \
             WHERE s.tenant_id = $1 AND s.subject_id = $2 AND s.period_start = $3 \
             AND l.returned_at IS NULL AND l.expires_at > $4 \
             ORDER BY l.created_at, l.id",
        )
        .bind(&self.tenant_id)
        .bind(id)
        .bind(start)
        .bind(now)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(lease_id, app_id, instance, created_at, expires_at, granted, used, ingested)| {
                    BudgetLease {
                        lease_id,
                        app_id,
                        instance,
                        created_at,
                        expires_at,
                        granted_usd: granted as f64 / 1e6,
                        used_usd: used as f64 / 1e6,
                        ingested_usd: ingested as f64 / 1e6,
                    }
                },
            )
            .collect())
    }
}
