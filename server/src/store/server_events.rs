//! Server events: things the server noticed that people may want to hear of (a budget's
//! spend crossing its amount, a rollout rolled back or completed). Each is recorded once
//! per kind, subject and period; the alerts work notifies on them. Outside the audit
//! chain: usage, not an admin, causes them (a rollout's move is audited on its own).

use serde::Serialize;
use switchyard::sdk_protocol::SliceScope;

use super::{Page, Result, TenantStore};
use crate::usage::validate::CheckedEvent;
use crate::util::{new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServerEvent {
    pub id: String,
    /// `budget.soft_exceeded`, `budget.exhausted`, `rollout.rolled_back` or
    /// `rollout.completed`.
    pub kind: String,
    /// The budget's or the rollout's id.
    pub subject_id: String,
    pub period_start: i64,
    /// JSON: the budget's name, amount and spend when noticed; the rollout's name, model,
    /// reason and evidence.
    pub detail: serde_json::Value,
    pub created_at: i64,
}

/// A server event to record.
pub(crate) struct NewEvent<'a> {
    pub kind: &'a str,
    pub subject_id: &'a str,
    pub period_start: i64,
    pub detail: &'a serde_json::Value,
}

/// Records `event` once: a second one of the same kind, subject and period is ignored.
pub(crate) async fn insert(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    event: &NewEvent<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO server_events (id, tenant_id, kind, subject_id, period_start, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, kind, subject_id, period_start) DO NOTHING",
    )
    .bind(new_id("evt"))
    .bind(tenant_id)
    .bind(event.kind)
    .bind(event.subject_id)
    .bind(event.period_start)
    .bind(event.detail.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl TenantStore<'_> {
    /// After usage of `app_id` was stored (by an SDK or the gateway): records a crossing
    /// for each budget in scope whose spend this period has reached its amount, once per
    /// period. Best effort, after the usage's commit: a crossing missed here (the error is
    /// logged) is found at the app's next batch.
    pub async fn record_crossings(&self, app_id: &str, events: &[CheckedEvent], grace_ms: i64) {
        if let Err(error) = self.crossings(app_id, events, grace_ms).await {
            tracing::warn!(%error, app = app_id, "budget crossings not checked");
        }
    }

    async fn crossings(&self, app_id: &str, events: &[CheckedEvent], grace_ms: i64) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (budgets, _) = self.applicable(app_id).await?;
        let budgets: Vec<_> = budgets
            .into_iter()
            .filter(|b| {
                b.scope.kind != SliceScope::Model
                    || events
                        .iter()
                        .any(|e| b.scope.reference.as_deref() == Some(e.model.as_str()))
            })
            .collect();
        if budgets.is_empty() {
            return Ok(());
        }
        let tz = self.time_zone().await?;
        let now = now_ms();
        let mut conn = self.db.pool.acquire().await?;
        for b in budgets {
            let (start, end) = b.budget.period.bounds(&tz, now)?;
            let standing = self
                .standing(&mut conn, &b, start, end, now, grace_ms)
                .await?;
            if standing.spent < b.amount_micros {
                continue;
            }
            let kind = if b.budget.mode == "soft" {
                "budget.soft_exceeded"
            } else {
                "budget.exhausted"
            };
            let detail = serde_json::json!({
                "name": b.budget.name,
                "amount_usd": b.budget.amount_usd,
                "spent_usd": standing.spent as f64 / 1e6,
            });
            let _guard = self.db.sqlite_writer().await;
            let event = NewEvent {
                kind,
                subject_id: &b.budget.id,
                period_start: start,
                detail: &detail,
            };
            insert(&mut conn, &self.tenant_id, &event, now).await?;
        }
        Ok(())
    }

    pub async fn list_server_events(&self, page: Page) -> Result<Vec<ServerEvent>> {
        let rows: Vec<(String, String, String, i64, String, i64)> = sqlx::query_as(
            "SELECT id, kind, subject_id, period_start, detail, created_at FROM server_events \
             WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        )
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, subject_id, period_start, detail, created_at)| ServerEvent {
                    id,
                    kind,
                    subject_id,
                    period_start,
                    detail: serde_json::from_str(&detail).unwrap_or_default(),
                    created_at,
                },
            )
            .collect())
    }
}
