//! Config versions: immutable documents in core's schema, each with author, time and a
//! diff from the one before; one of them is active per tenant. Nothing that fails core's
//! validator is stored or activated.

use serde::Serialize;
use serde_json::Value;
use switchyard::config::{Config, ConfigError, ConfigIssue};

use super::{AuditCtx, AuditEntry, Page, Result, Store, StoreError, TenantStore};
use crate::diff::json_diff;
use crate::util::{json_digest, new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConfigVersion {
    pub id: String,
    pub number: i64,
    pub label: Option<String>,
    #[schema(value_type = Object)]
    pub document: Value,
    pub digest: String,
    /// `[{op, path, before?, after?}]` from the previous version.
    #[schema(value_type = Vec<Object>)]
    pub diff: Value,
    pub author: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConfigVersionSummary {
    pub id: String,
    pub number: i64,
    pub label: Option<String>,
    pub digest: String,
    pub author: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActiveConfig {
    pub version_id: String,
    pub previous_version_id: Option<String>,
    pub activated_by: String,
    pub activated_at: i64,
}

/// Parses and validates with core; the error names the first offending path. Provider
/// keys must be `${ENV}` references: literal credentials belong in the provider store.
pub fn check_document(document: &Value) -> Result<Config> {
    document_issues(document).map_err(|e| StoreError::Invalid {
        field: e.first_path().to_owned(),
        message: e.to_string(),
    })
}

/// [`check_document`] with every issue found, for the editors that show them all.
pub fn document_issues(document: &Value) -> std::result::Result<Config, ConfigError> {
    let config = Config::from_json_value(document.clone())?;
    let literal: Vec<ConfigIssue> = config
        .providers
        .iter()
        .filter(|(_, p)| p.api_key.as_ref().is_some_and(|k| k.env_var().is_none()))
        .map(|(name, _)| {
            ConfigIssue::new(
                format!("providers.{name}.api_key"),
                "literal credentials are not stored in config versions: use an ${ENV} \
                 reference or set the provider's credential through /api/v1/providers",
            )
        })
        .collect();
    if literal.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::new(literal))
    }
}

type Row = (
    String,
    i64,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
);
const COLUMNS: &str = "id, number, label, document, digest, diff, author, created_at";

fn from_row((id, number, label, document, digest, diff, author, created_at): Row) -> ConfigVersion {
    ConfigVersion {
        id,
        number,
        label,
        document: serde_json::from_str(&document).unwrap_or(Value::Null),
        digest,
        diff: serde_json::from_str(&diff).unwrap_or(Value::Null),
        author,
        created_at,
    }
}

impl TenantStore<'_> {
    /// Stores a new version (not yet active). The document is kept in canonical form.
    pub async fn create_version(
        &self,
        ctx: &AuditCtx,
        document: &Value,
        label: Option<&str>,
    ) -> Result<ConfigVersion> {
        let config = check_document(document)?;
        let canonical =
            serde_json::to_value(&config).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut tx = self.write().await?;
        let latest: Option<(i64, String)> = sqlx::query_as(
            "SELECT number, document FROM config_versions WHERE tenant_id = $1 ORDER BY number DESC LIMIT 1",
        )
        .bind(&self.tenant_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let (number, previous) = match latest {
            Some((n, doc)) => (n + 1, serde_json::from_str(&doc).unwrap_or(Value::Null)),
            None => (1, Value::Object(Default::default())),
        };
        let version = ConfigVersion {
            id: new_id("cfg"),
            number,
            label: label.map(str::to_owned),
            digest: json_digest(&canonical),
            diff: json_diff(&previous, &canonical),
            document: canonical,
            author: ctx.actor.clone(),
            created_at: now_ms(),
        };
        sqlx::query(&format!(
            "INSERT INTO config_versions (tenant_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&self.tenant_id)
        .bind(&version.id)
        .bind(version.number)
        .bind(&version.label)
        .bind(version.document.to_string())
        .bind(&version.digest)
        .bind(version.diff.to_string())
        .bind(&version.author)
        .bind(version.created_at)
        .execute(&mut *tx.tx)
        .await?;
        let mut entry = AuditEntry::new(
            ctx,
            Some(&self.tenant_id),
            "config.version.create",
            &version.id,
        );
        entry.after_digest = Some(version.digest.clone());
        tx.audit(entry).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// A version by id, or by number when `id_or_number` is all digits.
    pub async fn get_version(&self, id_or_number: &str) -> Result<ConfigVersion> {
        let row: Row = if let Ok(n) = id_or_number.parse::<i64>() {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM config_versions WHERE tenant_id = $1 AND number = $2"
            ))
            .bind(&self.tenant_id)
            .bind(n)
            .fetch_one(&self.db.pool)
            .await?
        } else {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM config_versions WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(&self.tenant_id)
            .bind(id_or_number)
            .fetch_one(&self.db.pool)
            .await?
        };
        Ok(from_row(row))
    }

    pub async fn list_versions(&self, page: Page) -> Result<Vec<ConfigVersionSummary>> {
        let rows: Vec<(String, i64, Option<String>, String, String, i64)> = sqlx::query_as(
            "SELECT id, number, label, digest, author, created_at FROM config_versions \
             WHERE tenant_id = $1 ORDER BY number DESC LIMIT $2 OFFSET $3",
        )
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, number, label, digest, author, created_at)| ConfigVersionSummary {
                    id,
                    number,
                    label,
                    digest,
                    author,
                    created_at,
                },
            )
            .collect())
    }

    pub async fn active(&self) -> Result<Option<ActiveConfig>> {
        let row: Option<(String, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT version_id, previous_version_id, activated_by, activated_at FROM active_configs \
             WHERE tenant_id = $1",
        )
        .bind(&self.tenant_id)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(
            |(version_id, previous_version_id, activated_by, activated_at)| ActiveConfig {
                version_id,
                previous_version_id,
                activated_by,
                activated_at,
            },
        ))
    }

    /// Makes a version the active one, after validating it again with this build's core.
    pub async fn activate(
        &self,
        ctx: &AuditCtx,
        id_or_number: &str,
    ) -> Result<(ActiveConfig, ConfigVersion)> {
        let version = self.get_version(id_or_number).await?;
        check_document(&version.document)?;
        let current = self.active().await?;
        if current.as_ref().is_some_and(|c| c.version_id == version.id) {
            return Err(StoreError::Conflict {
                field: "version".into(),
                message: format!("version {} is already active", version.number),
            });
        }
        let active = ActiveConfig {
            version_id: version.id.clone(),
            previous_version_id: current.as_ref().map(|c| c.version_id.clone()),
            activated_by: ctx.actor.clone(),
            activated_at: now_ms(),
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO active_configs (tenant_id, version_id, previous_version_id, activated_by, activated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET version_id = $2, \
             previous_version_id = $3, activated_by = $4, activated_at = $5",
        )
        .bind(&self.tenant_id)
        .bind(&active.version_id)
        .bind(&active.previous_version_id)
        .bind(&active.activated_by)
        .bind(active.activated_at)
        .execute(&mut *tx.tx)
        .await?;
        let mut entry = AuditEntry::new(ctx, Some(&self.tenant_id), "config.activate", &version.id);
        entry.before_digest = current.map(|c| c.version_id);
        entry.after_digest = Some(version.digest.clone());
        tx.audit(entry).await?;
        tx.commit().await?;
        Ok((active, version))
    }

    /// Re-activates the version that was active before the current one.
    pub async fn rollback(&self, ctx: &AuditCtx) -> Result<(ActiveConfig, ConfigVersion)> {
        let previous = self
            .active()
            .await?
            .and_then(|a| a.previous_version_id)
            .ok_or_else(|| StoreError::Conflict {
                field: String::new(),
                message: "no previous version to roll back to".into(),
            })?;
        self.activate(ctx, &previous).await
    }
}

impl Store {
    /// When any tenant last activated a version (ms since the epoch), `None` before the
    /// first activation: replicas poll it to see activations made by one another.
    pub async fn latest_activation(&self) -> Result<Option<i64>> {
        let (latest,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(activated_at) FROM active_configs")
                .fetch_one(&self.db.pool)
                .await?;
        Ok(latest)
    }
}
