//! Server-side budgets (`docs/budgets.md`): what they are, their scopes, and their state in
//! the current period (spent from ingested usage, reserved by live lease slices).

use serde::{Deserialize, Serialize};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Executor};
use switchyard::sdk_protocol::{ServerDownPolicy, SliceScope};

use super::{AuditCtx, AuditEntry, Result, StoreError, TenantStore, check_name};
use crate::budget::period::{Period, zone};
use crate::util::{new_id, now_ms};

/// The largest amount accepted, in USD: larger is a typo, not a budget.
pub const MAX_AMOUNT_USD: f64 = 1e9;

/// What a budget or a limit counts: the kind, and for all but `tenant` what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kind: SliceScope,
    pub reference: Option<String>,
}

pub(crate) fn scope_str(kind: &SliceScope) -> &'static str {
    match kind {
        SliceScope::Tenant => "tenant",
        SliceScope::Department => "department",
        SliceScope::App => "app",
        SliceScope::Model => "model",
    }
}

pub(crate) fn parse_scope(s: &str) -> Option<SliceScope> {
    [
        SliceScope::Tenant,
        SliceScope::Department,
        SliceScope::App,
        SliceScope::Model,
    ]
    .into_iter()
    .find(|k| scope_str(k) == s)
}

pub(crate) fn policy_str(p: ServerDownPolicy) -> &'static str {
    match p {
        ServerDownPolicy::Deny => "deny",
        ServerDownPolicy::Local => "local",
        ServerDownPolicy::Allow => "allow",
    }
}

pub(crate) fn parse_policy(field: &str, s: Option<&str>) -> Result<ServerDownPolicy> {
    match s {
        None | Some("deny") => Ok(ServerDownPolicy::Deny),
        Some("local") => Ok(ServerDownPolicy::Local),
        Some("allow") => Ok(ServerDownPolicy::Allow),
        Some(_) => Err(StoreError::invalid(field, "must be deny, local or allow")),
    }
}

/// USD to integer micro-dollars: finite, positive, at most [`MAX_AMOUNT_USD`].
pub(crate) fn usd_micros(field: &str, usd: f64) -> Result<i64> {
    if !usd.is_finite() || usd <= 0.0 || usd > MAX_AMOUNT_USD {
        return Err(StoreError::invalid(
            field,
            format!("must be a number of USD above 0 and at most {MAX_AMOUNT_USD}"),
        ));
    }
    Ok((usd * 1e6).round() as i64)
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Budget {
    pub id: String,
    pub name: String,
    /// `tenant`, `department`, `app` or `model`.
    pub scope: String,
    /// The department id, app id or logical model name; none for `tenant`.
    pub scope_ref: Option<String>,
    pub period: Period,
    pub amount_usd: f64,
    /// `hard` (refuse or reroute past it) or `soft` (warn).
    pub mode: String,
    pub reroute_to: Option<String>,
    /// `deny` (default), `local` or `allow`.
    pub on_server_down: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The current period's state, on reads of one budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<BudgetState>,
}

/// A budget in its current period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BudgetState {
    pub period_start: i64,
    pub period_end: i64,
    /// Ingested usage in scope this period.
    pub spent_usd: f64,
    /// Held by lease slices and not yet ingested.
    pub reserved_usd: f64,
    pub remaining_usd: f64,
    pub live_leases: i64,
}

/// A new budget, or the whole of a changed one, as the API takes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    #[schema(schema_with = crate::schema_rules::name)]
    pub name: String,
    #[schema(pattern = "^(tenant|department|app|model)$")]
    pub scope: String,
    #[serde(default)]
    pub scope_ref: Option<String>,
    #[schema(pattern = "^(day|week|month)$")]
    pub period: String,
    #[schema(exclusive_minimum = 0.0, maximum = 1e9)]
    pub amount_usd: f64,
    #[schema(pattern = "^(hard|soft)$")]
    pub mode: String,
    #[serde(default)]
    pub reroute_to: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^(deny|local|allow)$")]
    pub on_server_down: Option<String>,
}

/// The checked fields as stored.
pub(crate) struct Checked {
    pub scope: Scope,
    pub period: Period,
    pub amount_micros: i64,
    pub policy: ServerDownPolicy,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    String,
    Option<String>,
    String,
    i64,
    i64,
);

const COLUMNS: &str = "id, name, scope_kind, scope_ref, period, amount_micros, mode, \
    reroute_to, on_server_down, created_at, updated_at";

/// A budget row with its amount in micro-dollars, for the lease grant.
#[derive(Debug, Clone)]
pub(crate) struct BudgetRow {
    pub budget: Budget,
    pub scope: Scope,
    pub amount_micros: i64,
}

fn from_row(r: Row) -> BudgetRow {
    let (id, name, kind, reference, period, amount, mode, reroute_to, policy, created, updated) = r;
    BudgetRow {
        scope: Scope {
            kind: parse_scope(&kind).unwrap_or(SliceScope::Tenant),
            reference: reference.clone(),
        },
        amount_micros: amount,
        budget: Budget {
            id,
            name,
            scope: kind,
            scope_ref: reference,
            period: Period::parse(&period).unwrap_or(Period::Month),
            amount_usd: amount as f64 / 1e6,
            mode,
            reroute_to,
            on_server_down: policy,
            created_at: created,
            updated_at: updated,
            state: None,
        },
    }
}

/// Budget `id` of `tenant_id`, on a transaction's connection or the pool.
async fn fetch<'e>(
    e: impl Executor<'e, Database = Any>,
    tenant_id: &str,
    id: &str,
) -> Result<BudgetRow> {
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM budgets WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_one(e)
    .await?;
    Ok(from_row(row))
}

/// The same definition, whenever it was last written.
fn unchanged(before: &Budget, after: &Budget) -> bool {
    let mut same = after.clone();
    same.updated_at = before.updated_at;
    &same == before
}

/// Binds a budget's defining fields as `$1..$8`.
fn bind_fields<'q>(
    q: Query<'q, Any, AnyArguments<'q>>,
    b: &'q BudgetInput,
    c: &'q Checked,
) -> Query<'q, Any, AnyArguments<'q>> {
    q.bind(&b.name)
        .bind(scope_str(&c.scope.kind))
        .bind(&c.scope.reference)
        .bind(c.period.as_str())
        .bind(c.amount_micros)
        .bind(&b.mode)
        .bind(&b.reroute_to)
        .bind(policy_str(c.policy))
}

impl TenantStore<'_> {
    /// Checks a scope against this tenant: a department or app of another tenant, or an
    /// unknown one, is a 422 on `scope_ref`.
    pub(crate) async fn check_scope(&self, kind: &str, reference: Option<&str>) -> Result<Scope> {
        let kind = parse_scope(kind).ok_or_else(|| {
            StoreError::invalid("scope", "must be tenant, department, app or model")
        })?;
        let reference = match (&kind, reference) {
            (SliceScope::Tenant, None) => None,
            (SliceScope::Tenant, Some(_)) => {
                return Err(StoreError::invalid(
                    "scope_ref",
                    "a tenant scope names nothing",
                ));
            }
            (_, None) => return Err(StoreError::invalid("scope_ref", "is required")),
            (SliceScope::Department, Some(r)) => {
                self.get_department(r)
                    .await
                    .map_err(|e| e.reference("scope_ref", "department"))?;
                Some(r.to_owned())
            }
            (SliceScope::App, Some(r)) => {
                self.get_app(r)
                    .await
                    .map_err(|e| e.reference("scope_ref", "app"))?;
                Some(r.to_owned())
            }
            (SliceScope::Model, Some(r)) => {
                check_name("scope_ref", r)?;
                Some(r.to_owned())
            }
        };
        Ok(Scope { kind, reference })
    }

    async fn check_budget(&self, b: &BudgetInput) -> Result<Checked> {
        check_name("name", &b.name)?;
        let amount_micros = usd_micros("amount_usd", b.amount_usd)?;
        let period = Period::parse(&b.period)
            .ok_or_else(|| StoreError::invalid("period", "must be day, week or month"))?;
        if b.mode != "hard" && b.mode != "soft" {
            return Err(StoreError::invalid("mode", "must be hard or soft"));
        }
        if let Some(r) = &b.reroute_to {
            if b.mode != "hard" {
                return Err(StoreError::invalid(
                    "reroute_to",
                    "only a hard budget reroutes",
                ));
            }
            check_name("reroute_to", r)?;
        }
        let policy = parse_policy("on_server_down", b.on_server_down.as_deref())?;
        let scope = self.check_scope(&b.scope, b.scope_ref.as_deref()).await?;
        Ok(Checked {
            scope,
            period,
            amount_micros,
            policy,
        })
    }

    pub async fn create_budget(&self, ctx: &AuditCtx, b: BudgetInput) -> Result<Budget> {
        self.save_budget(ctx, None, b).await
    }

    /// Replaces a budget's definition (PATCH takes the fields present over the current).
    pub async fn update_budget(&self, ctx: &AuditCtx, id: &str, b: BudgetInput) -> Result<Budget> {
        self.save_budget(ctx, Some(id), b).await
    }

    /// Inserts (no `id`) or replaces budget `id`, with its audit record.
    async fn save_budget(
        &self,
        ctx: &AuditCtx,
        id: Option<&str>,
        b: BudgetInput,
    ) -> Result<Budget> {
        let c = self.check_budget(&b).await?;
        let now = now_ms();
        let mut tx = self.write().await?;
        // The defining fields are $1..$8 in both statements.
        let (id, before) = match id {
            Some(id) => {
                let before = fetch(&mut *tx.tx, &self.tenant_id, id).await?.budget;
                bind_fields(
                    sqlx::query(
                        "UPDATE budgets SET name = $1, scope_kind = $2, scope_ref = $3, period = $4, \
                         amount_micros = $5, mode = $6, reroute_to = $7, on_server_down = $8, \
                         updated_at = $9 WHERE tenant_id = $10 AND id = $11",
                    ),
                    &b,
                    &c,
                )
                .bind(now)
                .bind(&self.tenant_id)
                .bind(id)
                .execute(&mut *tx.tx)
                .await
                .map_err(|e| StoreError::from(e).on_field("name"))?;
                (id.to_owned(), Some(before))
            }
            None => {
                let id = new_id("bud");
                bind_fields(
                    sqlx::query(
                        "INSERT INTO budgets (name, scope_kind, scope_ref, period, amount_micros, \
                         mode, reroute_to, on_server_down, tenant_id, id, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    ),
                    &b,
                    &c,
                )
                .bind(&self.tenant_id)
                .bind(&id)
                .bind(now)
                .bind(now)
                .execute(&mut *tx.tx)
                .await
                .map_err(|e| StoreError::from(e).on_field("name"))?;
                (id, None)
            }
        };
        let after = fetch(&mut *tx.tx, &self.tenant_id, &id).await?.budget;
        if let Some(before) = before.as_ref().filter(|b| unchanged(b, &after)) {
            return Ok(before.clone()); // an update that changes nothing writes nothing
        }
        let entry = match &before {
            Some(before) => AuditEntry::new(ctx, Some(&self.tenant_id), "budget.update", &id)
                .change(before, &after),
            None => AuditEntry::new(ctx, Some(&self.tenant_id), "budget.create", &id).states(
                None,
                Some(&serde_json::to_value(&after).unwrap_or_default()),
            ),
        };
        tx.audit(entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_budget(&self, ctx: &AuditCtx, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let before = fetch(&mut *tx.tx, &self.tenant_id, id).await?.budget;
        self.delete_audited(tx, ctx, ("budgets", "budget.delete"), id, &before)
            .await
    }

    /// Deletes row `id` of `table` (budgets, rate_limits), which held `before`, with its
    /// audit record, in `tx`.
    pub(super) async fn delete_audited(
        &self,
        mut tx: super::WriteTx,
        ctx: &AuditCtx,
        (table, action): (&'static str, &str),
        id: &str,
        before: &impl Serialize,
    ) -> Result<()> {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(&self.tenant_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), action, id).states(
                Some(&serde_json::to_value(before).unwrap_or_default()),
                None,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_budgets(&self, page: super::Page) -> Result<Vec<Budget>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM budgets WHERE tenant_id = $1 ORDER BY name LIMIT $2 OFFSET $3"
        ))
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(|r| from_row(r).budget).collect())
    }

    pub(crate) async fn budget_row(&self, id: &str) -> Result<BudgetRow> {
        fetch(&self.db.pool, &self.tenant_id, id).await
    }

    /// One budget as defined, without its state.
    pub async fn budget_definition(&self, id: &str) -> Result<Budget> {
        Ok(self.budget_row(id).await?.budget)
    }

    /// Every budget of the tenant, for the lease grant and the crossing check.
    pub(crate) async fn all_budgets(&self) -> Result<Vec<BudgetRow>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM budgets WHERE tenant_id = $1 ORDER BY id"
        ))
        .bind(&self.tenant_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// The tenant's time zone, which budget periods follow.
    pub async fn time_zone(&self) -> Result<jiff::tz::TimeZone> {
        let (name,): (String,) = sqlx::query_as("SELECT time_zone FROM tenants WHERE id = $1")
            .bind(&self.tenant_id)
            .fetch_one(&self.db.pool)
            .await?;
        zone("time_zone", &name)
    }

    /// Sets the tenant's time zone (an IANA name): budget periods follow it from now on.
    pub async fn set_time_zone(&self, ctx: &AuditCtx, name: &str) -> Result<()> {
        zone("time_zone", name)?;
        let mut tx = self.write().await?;
        sqlx::query("UPDATE tenants SET time_zone = $1 WHERE id = $2")
            .bind(name)
            .bind(&self.tenant_id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            AuditEntry::new(
                ctx,
                Some(&self.tenant_id),
                "tenant.time_zone",
                &self.tenant_id,
            )
            .states(None, Some(&serde_json::json!({ "time_zone": name }))),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One budget with its state in the current period.
    pub async fn get_budget(&self, id: &str, grace_ms: i64) -> Result<Budget> {
        let row = self.budget_row(id).await?;
        let tz = self.time_zone().await?;
        let now = now_ms();
        let (start, end) = row.budget.period.bounds(&tz, now)?;
        let mut conn = self.db.pool.acquire().await?;
        let standing = self
            .standing(&mut conn, &row, start, end, now, grace_ms)
            .await?;
        let mut budget = row.budget;
        budget.state = Some(BudgetState {
            period_start: start,
            period_end: end,
            spent_usd: standing.spent as f64 / 1e6,
            reserved_usd: standing.outstanding as f64 / 1e6,
            remaining_usd: (row.amount_micros - standing.spent - standing.outstanding).max(0)
                as f64
                / 1e6,
            live_leases: standing.live,
        });
        Ok(budget)
    }
}
