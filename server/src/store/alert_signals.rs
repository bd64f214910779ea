//! What alert rules read: per-deployment sums of the minute rollups over a window, spend
//! between two instants, server events and failed authentications since an instant.

use super::{Result, TenantStore};
use crate::usage::histogram::BUCKETS;

/// One deployment's calls over a window of minutes.
#[derive(Debug, Clone)]
pub struct DeploymentWindow {
    pub deployment: String,
    pub calls: i64,
    pub errors: i64,
    pub latency: [i64; BUCKETS],
}

impl TenantStore<'_> {
    /// Each deployment's calls, errors and latency histogram over the minutes starting at
    /// or after `from_minute_ms`.
    pub async fn deployment_windows(&self, from_minute_ms: i64) -> Result<Vec<DeploymentWindow>> {
        let mut out: Vec<DeploymentWindow> = Vec::new();
        // By deployment then minute: each deployment's minutes are adjacent.
        for m in self.deployment_minutes(from_minute_ms).await? {
            if out.last().is_none_or(|w| w.deployment != m.deployment) {
                out.push(DeploymentWindow {
                    deployment: m.deployment.clone(),
                    calls: 0,
                    errors: 0,
                    latency: [0; BUCKETS],
                });
            }
            if let Some(w) = out.last_mut() {
                w.calls += m.calls;
                w.errors += m.errors;
                for (sum, v) in w.latency.iter_mut().zip(m.latency) {
                    *sum += v;
                }
            }
        }
        Ok(out)
    }

    /// Spend in micro-dollars over the minutes in `[from_ms, to_ms)`.
    pub async fn spend_between(&self, from_ms: i64, to_ms: i64) -> Result<i64> {
        let (sum,): (Option<i64>,) = sqlx::query_as(
            "SELECT CAST(SUM(cost_micros) AS BIGINT) FROM usage_minute WHERE tenant_id = $1 AND minute >= $2 AND minute < $3",
        )
        .bind(&self.tenant_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(sum.unwrap_or(0))
    }

    /// Subjects and details of server events of `kind` recorded at or after `since_ms`.
    pub async fn server_events_since(
        &self,
        kind: &str,
        since_ms: i64,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT subject_id, detail FROM server_events WHERE tenant_id = $1 AND kind = $2 \
             AND created_at >= $3 ORDER BY created_at",
        )
        .bind(&self.tenant_id)
        .bind(kind)
        .bind(since_ms)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(s, d)| (s, serde_json::from_str(&d).unwrap_or_default()))
            .collect())
    }

    /// Policy violations (`policy.violation` security events) at or after `since_ms`.
    pub async fn policy_violations_since(&self, since_ms: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM security_events WHERE tenant_id = $1 AND kind = $2 AND at >= $3",
        )
        .bind(&self.tenant_id)
        .bind(super::security_events::POLICY_VIOLATION)
        .bind(since_ms)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(n)
    }

    /// Failed authentications (`auth.failed.*` security events) at or after `since_ms`.
    pub async fn auth_failures_since(&self, since_ms: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM security_events WHERE tenant_id = $1 AND kind LIKE 'auth.failed%' \
             AND at >= $2",
        )
        .bind(&self.tenant_id)
        .bind(since_ms)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(n)
    }
}
