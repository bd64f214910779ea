//! Server-side rate limits: requests and tokens a minute across every instance of the apps
//! in scope, shared out by leases (`docs/budgets.md`).

use serde::{Deserialize, Serialize};
use sqlx::{Any, Executor};

use switchyard::sdk_protocol::ServerDownPolicy;

use super::budgets::{Scope, parse_policy, parse_scope, policy_str, scope_str};
use super::{AuditCtx, AuditEntry, Page, Result, StoreError, TenantStore, check_name};
use crate::util::{new_id, now_ms};

/// The largest limit accepted, a minute.
pub const MAX_PER_MINUTE: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RateLimit {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub scope_ref: Option<String>,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub on_server_down: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Shares held by live leases (and shares still cooling), on reads of one limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<LimitState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LimitState {
    pub live_leases: i64,
    pub rpm_shares: i64,
    pub tpm_shares: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitInput {
    #[schema(schema_with = crate::schema_rules::name)]
    pub name: String,
    #[schema(pattern = "^(tenant|department|app|model)$")]
    pub scope: String,
    #[serde(default)]
    pub scope_ref: Option<String>,
    /// Requests per minute; `rpm`, `tpm` or both.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub rpm: Option<i64>,
    /// Tokens per minute.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub tpm: Option<i64>,
    #[serde(default)]
    #[schema(pattern = "^(deny|local|allow)$")]
    pub on_server_down: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct LimitRow {
    pub limit: RateLimit,
    pub scope: Scope,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    i64,
);

const COLUMNS: &str =
    "id, name, scope_kind, scope_ref, rpm, tpm, on_server_down, created_at, updated_at";

fn from_row((id, name, kind, reference, rpm, tpm, policy, created, updated): Row) -> LimitRow {
    LimitRow {
        scope: Scope {
            kind: parse_scope(&kind).unwrap_or(switchyard::sdk_protocol::SliceScope::Tenant),
            reference: reference.clone(),
        },
        limit: RateLimit {
            id,
            name,
            scope: kind,
            scope_ref: reference,
            rpm,
            tpm,
            on_server_down: policy,
            created_at: created,
            updated_at: updated,
            state: None,
        },
    }
}

/// Limit `id` of `tenant_id`, on a transaction's connection or the pool.
async fn fetch<'e>(
    e: impl Executor<'e, Database = Any>,
    tenant_id: &str,
    id: &str,
) -> Result<LimitRow> {
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rate_limits WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_one(e)
    .await?;
    Ok(from_row(row))
}

fn per_minute(field: &str, v: Option<i64>) -> Result<()> {
    match v {
        Some(n) if !(1..=MAX_PER_MINUTE).contains(&n) => Err(StoreError::invalid(
            field,
            format!("must be between 1 and {MAX_PER_MINUTE}"),
        )),
        _ => Ok(()),
    }
}

impl TenantStore<'_> {
    async fn check_rate_limit(&self, l: &RateLimitInput) -> Result<(Scope, ServerDownPolicy)> {
        check_name("name", &l.name)?;
        per_minute("rpm", l.rpm)?;
        per_minute("tpm", l.tpm)?;
        if l.rpm.is_none() && l.tpm.is_none() {
            return Err(StoreError::invalid("rpm", "set rpm, tpm or both"));
        }
        let policy = parse_policy("on_server_down", l.on_server_down.as_deref())?;
        let scope = self.check_scope(&l.scope, l.scope_ref.as_deref()).await?;
        Ok((scope, policy))
    }

    /// Replaces a limit's definition (PATCH takes the fields present over the current).
    /// Shares already granted stand until their leases renew.
    pub async fn update_rate_limit(
        &self,
        ctx: &AuditCtx,
        id: &str,
        l: RateLimitInput,
    ) -> Result<RateLimit> {
        self.save_rate_limit(ctx, Some(id), l).await
    }

    pub async fn create_rate_limit(&self, ctx: &AuditCtx, l: RateLimitInput) -> Result<RateLimit> {
        self.save_rate_limit(ctx, None, l).await
    }

    /// Inserts (no `id`) or replaces limit `id`, with its audit record.
    async fn save_rate_limit(
        &self,
        ctx: &AuditCtx,
        id: Option<&str>,
        l: RateLimitInput,
    ) -> Result<RateLimit> {
        let (scope, policy) = self.check_rate_limit(&l).await?;
        let now = now_ms();
        let mut tx = self.write().await?;
        // The defining fields are $1..$6 in both statements.
        let sql = match id {
            Some(_) => {
                "UPDATE rate_limits SET name = $1, scope_kind = $2, scope_ref = $3, rpm = $4, \
                 tpm = $5, on_server_down = $6, updated_at = $7 WHERE tenant_id = $8 AND id = $9"
            }
            None => {
                "INSERT INTO rate_limits (name, scope_kind, scope_ref, rpm, tpm, on_server_down, \
                 updated_at, tenant_id, id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            }
        };
        let before = match id {
            Some(id) => Some(fetch(&mut *tx.tx, &self.tenant_id, id).await?.limit),
            None => None,
        };
        let id = id.map_or_else(|| new_id("rlm"), str::to_owned);
        let mut q = sqlx::query(sql)
            .bind(&l.name)
            .bind(scope_str(&scope.kind))
            .bind(&scope.reference)
            .bind(l.rpm)
            .bind(l.tpm)
            .bind(policy_str(policy))
            .bind(now)
            .bind(&self.tenant_id)
            .bind(&id);
        if before.is_none() {
            q = q.bind(now);
        }
        q.execute(&mut *tx.tx)
            .await
            .map_err(|e| StoreError::from(e).on_field("name"))?;
        let after = fetch(&mut *tx.tx, &self.tenant_id, &id).await?.limit;
        if let Some(before) = before.as_ref().filter(|b| {
            let mut same = after.clone();
            same.updated_at = b.updated_at;
            &same == *b
        }) {
            return Ok(before.clone()); // an update that changes nothing writes nothing
        }
        let entry = match &before {
            Some(before) => AuditEntry::new(ctx, Some(&self.tenant_id), "rate_limit.update", &id)
                .change(before, &after),
            None => AuditEntry::new(ctx, Some(&self.tenant_id), "rate_limit.create", &id).states(
                None,
                Some(&serde_json::to_value(&after).unwrap_or_default()),
            ),
        };
        tx.audit(entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_rate_limit(&self, ctx: &AuditCtx, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let before = fetch(&mut *tx.tx, &self.tenant_id, id).await?.limit;
        self.delete_audited(tx, ctx, ("rate_limits", "rate_limit.delete"), id, &before)
            .await
    }

    pub async fn list_rate_limits(&self, page: Page) -> Result<Vec<RateLimit>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM rate_limits WHERE tenant_id = $1 ORDER BY name LIMIT $2 OFFSET $3"
        ))
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(|r| from_row(r).limit).collect())
    }

    pub(crate) async fn all_rate_limits(&self) -> Result<Vec<LimitRow>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM rate_limits WHERE tenant_id = $1 ORDER BY id"
        ))
        .bind(&self.tenant_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// One limit as defined, without its state.
    pub async fn rate_limit_definition(&self, id: &str) -> Result<RateLimit> {
        Ok(fetch(&self.db.pool, &self.tenant_id, id).await?.limit)
    }

    /// One limit with the shares live leases hold now (`window_ms` back for cooling).
    pub async fn get_rate_limit(&self, id: &str, window_ms: i64) -> Result<RateLimit> {
        let mut limit = self.rate_limit_definition(id).await?;
        let now = now_ms();
        let (live, rpm, tpm): (i64, i64, i64) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(s.granted), 0) AS BIGINT), \
             CAST(COALESCE(SUM(COALESCE(s.granted_tpm, 0)), 0) AS BIGINT) \
             FROM lease_slices s JOIN leases l ON l.id = s.lease_id \
             WHERE s.subject_id = $1 AND l.returned_at IS NULL AND l.expires_at > $2",
        )
        .bind(id)
        .bind(now - window_ms)
        .fetch_one(&self.db.pool)
        .await?;
        limit.state = Some(LimitState {
            live_leases: live,
            rpm_shares: rpm,
            tpm_shares: tpm,
        });
        Ok(limit)
    }
}
