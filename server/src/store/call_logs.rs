//! Call logs' SQL: each app's policy (audited), logged calls stored in the usage ingest's
//! own transaction (so a replayed batch stores its content once, like its usage), the
//! searches and reads over them, the audit record every read of content leaves, and the
//! pruning past retention.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::{AuditCtx, AuditEntry, Result, Store, StoreError, TenantStore};
use crate::call_logs::intake::NewCallLog;
use crate::call_logs::policy::CallLogPolicy;
use crate::crypto::{MasterKey, call_log_aad};
use crate::db::Backend;
use crate::usage::validate::{CheckedEvent, Sender};
use crate::util::now_ms;

/// A logged call's row: its searchable metadata in clear and its content sealed.
#[derive(Debug, Clone)]
pub struct CallLogRow {
    pub id: String,
    pub department_id: String,
    pub app_id: String,
    pub time_ms: i64,
    pub user: Option<String>,
    pub model: String,
    pub deployment: String,
    pub provider: String,
    pub tags: Vec<String>,
    pub error_code: Option<String>,
    pub cache_hit: bool,
    pub local: bool,
    pub stream: bool,
    pub redacted: bool,
    pub truncated: bool,
    pub content_bytes: i64,
    pub original_bytes: i64,
    pub sealed: String,
}

const COLUMNS: &str = "id, department_id, app_id, time_ms, user_id, model, deployment, provider, \
    tags, error_code, cache_hit, local, stream, redacted, truncated, content_bytes, \
    original_bytes, sealed";

fn from_row(r: sqlx::any::AnyRow) -> Result<CallLogRow> {
    use sqlx::Row as _;
    let tags: String = r.try_get(8)?;
    Ok(CallLogRow {
        id: r.try_get(0)?,
        department_id: r.try_get(1)?,
        app_id: r.try_get(2)?,
        time_ms: r.try_get(3)?,
        user: r.try_get(4)?,
        model: r.try_get(5)?,
        deployment: r.try_get(6)?,
        provider: r.try_get(7)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        error_code: r.try_get(9)?,
        cache_hit: r.try_get::<i64, _>(10)? != 0,
        local: r.try_get::<i64, _>(11)? != 0,
        stream: r.try_get::<i64, _>(12)? != 0,
        redacted: r.try_get::<i64, _>(13)? != 0,
        truncated: r.try_get::<i64, _>(14)? != 0,
        content_bytes: r.try_get(15)?,
        original_bytes: r.try_get(16)?,
        sealed: r.try_get(17)?,
    })
}

/// What a search narrows to in SQL (tags and text are matched by the caller, row by row).
#[derive(Debug, Clone, Default)]
pub struct CallLogFilter {
    /// The departments in reach; `None`: the whole tenant.
    pub departments: Option<Vec<String>>,
    pub app: Option<String>,
    pub model: Option<String>,
    pub user: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// `Some(true)`: failed calls only; `Some(false)`: calls that succeeded.
    pub failed: Option<bool>,
    pub cache_hit: Option<bool>,
    pub local: Option<bool>,
}

/// The usage of one logged call, from its usage event (while that is retained).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallUsage {
    pub upstream_model: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub cost_usd: f64,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub attempts: i64,
    pub fallbacks: i64,
    pub fallback: Option<String>,
    pub arm: Option<String>,
}

type UsageRow = (
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

/// Rows per INSERT: 22 parameters a row stays under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 400;
const INSERT_COLUMNS: &str = "id, tenant_id, department_id, app_id, time_ms, received_at, \
    user_id, model, deployment, provider, tags, error_code, cache_hit, local, stream, \
    redacted, truncated, content_bytes, original_bytes, sealed, expires_at";
const INSERT_PARAMS: usize = 21;

/// Stores the content of the events `inserted` (new in this transaction) that have some.
pub(crate) async fn insert_call_logs(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    sender: &Sender,
    inserted: &[CheckedEvent],
    logs: &HashMap<String, NewCallLog>,
    received_at: i64,
) -> Result<()> {
    let rows: Vec<(&CheckedEvent, &NewCallLog)> = inserted
        .iter()
        .filter_map(|e| logs.get(&e.id).map(|l| (e, l)))
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO call_logs ({INSERT_COLUMNS}) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
            super::usage::placeholders(backend, chunk.len(), INSERT_PARAMS)
        );
        let mut q = sqlx::query_as::<_, (String,)>(&sql).persistent(false);
        for (e, l) in chunk {
            q = super::usage::bind_call(q, sender, e, received_at)
                .bind(serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()))
                .bind(e.error_code.as_deref())
                .bind(i64::from(e.cache_hit))
                .bind(i64::from(e.local))
                .bind(i64::from(e.stream))
                .bind(i64::from(l.redacted))
                .bind(i64::from(l.truncated))
                .bind(l.content_bytes)
                .bind(l.original_bytes)
                .bind(l.sealed.as_str())
                .bind(l.expires_at);
        }
        q.fetch_all(&mut **tx).await?;
    }
    Ok(())
}

/// Reseals every logged call sealed under `old` with `new`, in the rotation's transaction
/// (rows already under `new` are left alone, so a rerun completes a partial rotation).
pub(crate) async fn reseal_call_logs(
    tx: &mut Transaction<'static, Any>,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize> {
    let prefix = format!("v1:{}:%", old.id());
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, tenant_id, sealed FROM call_logs WHERE sealed LIKE $1")
            .bind(&prefix)
            .fetch_all(&mut **tx)
            .await?;
    for (id, tenant_id, sealed) in &rows {
        let aad = call_log_aad(tenant_id, id);
        let plain = old
            .open_bytes(sealed, &aad)
            .map_err(|e| StoreError::Crypto(e.to_string()))?;
        let resealed = new
            .seal_bytes(&plain, &aad)
            .map_err(|e| StoreError::Crypto(e.to_string()))?;
        sqlx::query("UPDATE call_logs SET sealed = $1 WHERE id = $2")
            .bind(resealed)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(rows.len())
}

impl TenantStore<'_> {
    /// The app's policy; off when it has none.
    pub async fn call_log_policy(&self, app_id: &str) -> Result<CallLogPolicy> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT policy, retention_days FROM call_log_policies WHERE tenant_id = $1 AND app_id = $2",
        )
        .bind(&self.tenant_id)
        .bind(app_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((policy, retention_days)) = row else {
            return Ok(CallLogPolicy::default());
        };
        let mut policy: CallLogPolicy = serde_json::from_str(&policy)
            .map_err(|e| StoreError::Internal(format!("stored call-log policy: {e}")))?;
        policy.retention_days = u32::try_from(retention_days).unwrap_or(u32::MAX);
        Ok(policy)
    }

    /// Sets the app's policy, audited with its before and after. A new retention applies
    /// to the calls already logged too.
    pub async fn set_call_log_policy(
        &self,
        ctx: &AuditCtx,
        app_id: &str,
        policy: &CallLogPolicy,
    ) -> Result<CallLogPolicy> {
        policy
            .check()
            .map_err(|e| StoreError::invalid(e.field(), e.to_string()))?;
        let before = self.call_log_policy(app_id).await?;
        let json =
            serde_json::to_string(policy).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO call_log_policies (tenant_id, app_id, policy, retention_days, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, app_id) DO UPDATE SET \
             policy = excluded.policy, retention_days = excluded.retention_days, \
             updated_at = excluded.updated_at",
        )
        .bind(&self.tenant_id)
        .bind(app_id)
        .bind(&json)
        .bind(i64::from(policy.retention_days))
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        if before.retention_days != policy.retention_days {
            sqlx::query(
                "UPDATE call_logs SET expires_at = time_ms + $1 WHERE tenant_id = $2 AND app_id = $3",
            )
            .bind(i64::from(policy.retention_days) * 86_400_000)
            .bind(&self.tenant_id)
            .bind(app_id)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "call_log.configure", app_id)
                .change(&before, policy),
        )
        .await?;
        tx.commit().await?;
        Ok(policy.clone())
    }

    /// Logged calls matching `filter`, newest first: `limit` of them from `offset`.
    pub async fn search_call_logs(
        &self,
        filter: &CallLogFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<CallLogRow>> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM call_logs WHERE tenant_id = $1 \
             AND ($2 IS NULL OR app_id = $2) AND ($3 IS NULL OR model = $3) \
             AND ($4 IS NULL OR user_id = $4) AND ($5 IS NULL OR time_ms >= $5) \
             AND ($6 IS NULL OR time_ms < $6) AND ($7 IS NULL OR cache_hit = $7) \
             AND ($8 IS NULL OR local = $8)"
        );
        match filter.failed {
            Some(true) => sql.push_str(" AND error_code IS NOT NULL"),
            Some(false) => sql.push_str(" AND error_code IS NULL"),
            None => {}
        }
        let departments = filter.departments.as_deref().unwrap_or_default();
        if filter.departments.is_some() {
            if departments.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = (0..departments.len())
                .map(|i| format!("${}", 11 + i))
                .collect();
            sql.push_str(&format!(" AND department_id IN ({})", list.join(", ")));
        }
        sql.push_str(" ORDER BY time_ms DESC, id DESC LIMIT $9 OFFSET $10");
        let mut q = sqlx::query(&sql)
            .bind(&self.tenant_id)
            .bind(filter.app.as_deref())
            .bind(filter.model.as_deref())
            .bind(filter.user.as_deref())
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.cache_hit.map(i64::from))
            .bind(filter.local.map(i64::from))
            .bind(limit)
            .bind(offset);
        for d in departments {
            q = q.bind(d.as_str());
        }
        q.fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// One logged call.
    pub async fn get_call_log(&self, id: &str) -> Result<CallLogRow> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM call_logs WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(&self.tenant_id)
        .bind(id.to_ascii_lowercase())
        .fetch_one(&self.db.pool)
        .await?;
        from_row(row)
    }

    /// The usage event of a logged call, while usage retention keeps it.
    pub async fn call_usage(&self, id: &str) -> Result<Option<CallUsage>> {
        let row: Option<UsageRow> = sqlx::query_as(
            "SELECT upstream_model, prompt_tokens, completion_tokens, cached_tokens, cost_micros, \
             latency_us, ttft_us, attempts, fallbacks, fallback, arm FROM usage_events \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(
            |(
                upstream_model,
                p,
                c,
                cached,
                cost,
                lat,
                ttft,
                attempts,
                fallbacks,
                fallback,
                arm,
            )| {
                CallUsage {
                    upstream_model,
                    prompt_tokens: p,
                    completion_tokens: c,
                    cached_tokens: cached,
                    cost_usd: cost as f64 / 1e6,
                    latency_ms: lat as f64 / 1000.0,
                    ttft_ms: ttft.map(|t| t as f64 / 1000.0),
                    attempts,
                    fallbacks,
                    fallback,
                    arm,
                }
            },
        ))
    }

    /// The audit record of a read of content: `action` (`call_log.read`, `.search`,
    /// `.export`) on `target`, with a digest of what was read (the ids, never the content).
    pub async fn audit_content_read(
        &self,
        ctx: &AuditCtx,
        action: &str,
        target: &str,
        ids: &[String],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), action, target)
                .states(None, Some(&serde_json::json!(ids))),
        )
        .await?;
        tx.commit().await
    }
}

impl Store {
    /// Deletes logged calls whose retention ended before `now_ms`, a slice at a time.
    pub async fn prune_call_logs(&self, now_ms: i64) -> Result<u64> {
        self.delete_in_slices("call_logs", "expires_at", now_ms)
            .await
    }
}
