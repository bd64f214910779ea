//! What health and capacity read: each deployment's rollup minutes over a span, and its
//! calls summed per hour.

use super::{Result, TenantStore};
use crate::usage::histogram::BUCKETS;

/// One deployment's sums in one minute.
#[derive(Debug, Clone)]
pub struct DeploymentMinute {
    pub deployment: String,
    pub minute: i64,
    pub calls: i64,
    pub errors: i64,
    pub tokens: i64,
    pub latency_us_sum: i64,
    pub latency: [i64; BUCKETS],
}

impl TenantStore<'_> {
    /// Every deployment's minutes at or after `from_ms`, by deployment then minute.
    pub async fn deployment_minutes(&self, from_ms: i64) -> Result<Vec<DeploymentMinute>> {
        let lat: Vec<String> = (0..BUCKETS)
            .map(|i| format!("CAST(SUM(lat_{i}) AS BIGINT)"))
            .collect();
        let sql = format!(
            "SELECT deployment, minute, CAST(SUM(calls) AS BIGINT), CAST(SUM(errors) AS BIGINT), \
             CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT), \
             CAST(SUM(latency_us_sum) AS BIGINT), {} FROM usage_minute \
             WHERE tenant_id = $1 AND minute >= $2 GROUP BY deployment, minute \
             ORDER BY deployment, minute",
            lat.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tenant_id)
            .bind(from_ms)
            .fetch_all(&self.db.pool)
            .await?;
        use sqlx::Row;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut latency = [0; BUCKETS];
            for (i, slot) in latency.iter_mut().enumerate() {
                *slot = row.try_get::<i64, _>(6 + i)?;
            }
            out.push(DeploymentMinute {
                deployment: row.try_get(0)?,
                minute: row.try_get(1)?,
                calls: row.try_get(2)?,
                errors: row.try_get(3)?,
                tokens: row.try_get(4)?,
                latency_us_sum: row.try_get(5)?,
                latency,
            });
        }
        Ok(out)
    }

    /// (deployment, model, hour start, calls) for every hour at or after `from_ms`.
    pub async fn hourly_calls(&self, from_ms: i64) -> Result<Vec<(String, String, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT deployment, model, minute - (minute % 3600000) AS hour, \
             CAST(SUM(calls) AS BIGINT) FROM usage_minute WHERE tenant_id = $1 AND minute >= $2 \
             GROUP BY deployment, model, minute - (minute % 3600000) ORDER BY deployment, model, hour",
        )
        .bind(&self.tenant_id)
        .bind(from_ms)
        .fetch_all(&self.db.pool)
        .await?)
    }
}
