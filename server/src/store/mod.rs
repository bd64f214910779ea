//! The storage layer. Tenant data is reached only through [`TenantStore`], whose every
//! query carries the tenant id: a handler cannot forget tenant scoping because it never
//! writes a query. Every mutation runs in one [`WriteTx`] that also appends its audit
//! record, so a change and its audit entry land together or not at all.

mod alert_signals;
mod alerts;
mod apps;
pub mod audit_log;
mod bootstrap;
mod budget_leases;
mod budgets;
mod call_logs;
pub mod changes;
mod configs;
mod departments;
mod deployment_health;
pub(crate) mod keys;
mod leader_locks;
mod leases;
mod prices;
mod providers;
mod rate_limits;
mod rollouts;
mod security_events;
mod server_events;
mod sso;
mod sso_identities;
mod sso_logins;
mod sso_rules;
mod tenants;
mod usage;
mod usage_reports;
mod users;

use sqlx::{Any, Transaction};
use tokio::sync::OwnedMutexGuard;

pub use alert_signals::DeploymentWindow;
pub use alerts::{AlertChannel, AlertDelivery, AlertRule, AlertState, ChannelInput};
pub use apps::{App, AppPatch, NewApp, SecretsMode};
pub use audit_log::{
    AuditCtx, AuditEntry, AuditFilter, AuditRecord, TenantVerification, VerifyReport,
};
pub use bootstrap::{Bootstrapped, NewTenant};
pub use budget_leases::BudgetLease;
pub use budgets::{Budget, BudgetInput, BudgetState, MAX_AMOUNT_USD};
pub use call_logs::{CallLogFilter, CallLogRow, CallUsage};
pub use configs::{
    ActiveConfig, ConfigVersion, ConfigVersionSummary, check_document, document_issues,
};
pub use departments::{Department, DepartmentPatch};
pub use deployment_health::DeploymentMinute;
pub use keys::{AppKey, KeyAuth, NewKey};
pub use leader_locks::LockSession;
pub use leases::{LeaseAsk, LeaseSettings};
pub use prices::{PriceInput, PriceOverride};
pub use providers::{NewProvider, Provider};
pub use rate_limits::{LimitState, RateLimit, RateLimitInput};
pub use rollouts::{ArmMinute, ArmSample, Guards, NewRollout, Rollout, RolloutStep, Transition};
pub use security_events::SecurityEvent;
pub use server_events::ServerEvent;
pub use sso::{DEFAULT_GROUPS_CLAIM, DEFAULT_SCOPES, SsoInput, SsoSettings, check_issuer};
pub use sso_identities::NO_PASSWORD;
pub use sso_logins::{PendingDevice, PendingLogin};
pub use sso_rules::{GroupRule, GroupRuleInput, RuleKind};
pub use tenants::Tenant;
pub use usage::Ingested;
pub use usage_reports::{DepartmentNode, Dimension, UsageFilter, UsageRow, UsageSums};
pub use users::{Binding, NewBinding, TokenAuth, TokenKind, User, UserPatch};

pub use crate::store_error::{Result, StoreError};

use crate::db::Db;

/// The longest name accepted. Names are unique-indexed, and PostgreSQL refuses index
/// entries over about 2.7 kB: a bound here keeps that a 422, not a database error.
pub const MAX_NAME_CHARS: usize = 200;

/// A name (of a tenant, department, app, user, provider): not blank, not over
/// [`MAX_NAME_CHARS`], no control characters.
pub(crate) fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::invalid(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Page through lists: `limit` (1..=500, default 50) and `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 50,
            offset: 0,
        }
    }
}

impl Page {
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Page> {
        let limit = limit.unwrap_or(50);
        let offset = offset.unwrap_or(0);
        if !(1..=500).contains(&limit) {
            return Err(StoreError::invalid("limit", "must be between 1 and 500"));
        }
        if offset < 0 {
            return Err(StoreError::invalid("offset", "must be >= 0"));
        }
        Ok(Page { limit, offset })
    }
}

/// The whole database. Cross-tenant operations (tenants, token lookup by hash, audit
/// verification) live here; tenant data behind [`Store::tenant`].
#[derive(Clone)]
pub struct Store {
    pub db: Db,
}

/// One tenant's view of the database.
pub struct TenantStore<'a> {
    db: &'a Db,
    tenant_id: String,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Store { db }
    }

    pub fn tenant(&self, tenant_id: &str) -> TenantStore<'_> {
        TenantStore {
            db: &self.db,
            tenant_id: tenant_id.to_owned(),
        }
    }
}

impl TenantStore<'_> {
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    async fn write(&self) -> Result<WriteTx> {
        self.db.begin_write().await
    }
}

/// A write transaction that must append an audit record before it may commit.
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    audited: bool,
    audit_keys: Option<std::sync::Arc<crate::audit::AuditKeys>>,
    keyed_from_seen: std::sync::Arc<std::sync::OnceLock<i64>>,
    /// The tenants whose records this write appends, announced to the replicas on commit.
    tenants: Vec<Option<String>>,
    backend: crate::db::Backend,
    _guard: OwnedMutexGuard<()>,
}

impl Db {
    /// Starts a write: takes the writer lock, opens a transaction and locks the audit head
    /// row first (so SQLite takes its write lock up front and PostgreSQL replicas queue).
    pub(crate) async fn begin_write(&self) -> Result<WriteTx> {
        let guard = self.write_lock.clone().lock_owned().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(WriteTx {
            tx,
            audited: false,
            audit_keys: self.audit_keys.clone(),
            keyed_from_seen: self.keyed_from_seen.clone(),
            tenants: Vec::new(),
            backend: self.backend,
            _guard: guard,
        })
    }
}

impl WriteTx {
    pub(crate) async fn audit(&mut self, entry: AuditEntry) -> Result<()> {
        self.tenants.push(entry.tenant_id.clone());
        audit_log::append(
            &mut self.tx,
            self.audit_keys.as_deref(),
            &self.keyed_from_seen,
            entry,
        )
        .await?;
        self.audited = true;
        Ok(())
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        if !self.audited {
            return Err(StoreError::Internal("write without an audit record".into()));
        }
        changes::announce(&mut self.tx, self.backend, &self.tenants).await?;
        self.tx.commit().await?;
        Ok(())
    }
}
