//! Apps: the business modules that call models. Each belongs to one department and holds
//! the API keys its SDK instances use.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Executor};

use super::departments::fetch_department;
use super::{AuditCtx, AuditEntry, Page, Result, StoreError, TenantStore, check_name};
use crate::util::{new_id, now_ms};

/// Whether the SDK of this app receives provider credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretsMode {
    /// The app calls through the gateway: its config carries no provider keys.
    #[default]
    None,
    /// The SDK calls providers directly and needs their keys.
    Direct,
}

impl SecretsMode {
    fn as_str(self) -> &'static str {
        match self {
            SecretsMode::None => "none",
            SecretsMode::Direct => "direct",
        }
    }

    fn parse(s: &str) -> SecretsMode {
        if s == "direct" {
            SecretsMode::Direct
        } else {
            SecretsMode::None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct App {
    pub id: String,
    pub department_id: String,
    pub name: String,
    /// Model aliases the app may see; `None`: all.
    pub allowed_models: Option<Vec<String>>,
    pub secrets_mode: SecretsMode,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewApp {
    pub department_id: String,
    pub name: String,
    pub allowed_models: Option<Vec<String>>,
    pub secrets_mode: SecretsMode,
}

/// A partial update: `None` leaves a field alone; `allowed_models: Some(None)` lets the
/// app see every model again.
#[derive(Debug, Clone, Default)]
pub struct AppPatch {
    pub name: Option<String>,
    pub department_id: Option<String>,
    pub allowed_models: Option<Option<Vec<String>>>,
    pub secrets_mode: Option<SecretsMode>,
}

type Row = (String, String, String, Option<String>, String, i64);

const COLUMNS: &str = "id, department_id, name, allowed_models, secrets_mode, created_at";

fn from_row((id, department_id, name, allowed, mode, created_at): Row) -> App {
    App {
        id,
        department_id,
        name,
        allowed_models: allowed.and_then(|a| serde_json::from_str(&a).ok()),
        secrets_mode: SecretsMode::parse(&mode),
        created_at,
    }
}

/// `allowed_models` as stored: a JSON array, or NULL for every model.
fn allowed_column(app: &App) -> Option<String> {
    app.allowed_models
        .as_ref()
        .map(|m| serde_json::to_string(m).unwrap_or_default())
}

async fn fetch<'e>(e: impl Executor<'e, Database = Any>, tenant_id: &str, id: &str) -> Result<App> {
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_one(e)
    .await?;
    Ok(from_row(row))
}

impl TenantStore<'_> {
    pub async fn create_app(&self, ctx: &AuditCtx, new: NewApp) -> Result<App> {
        check_name("name", &new.name)?;
        self.get_department(&new.department_id)
            .await
            .map_err(|e| e.reference("department_id", "department"))?;
        let app = App {
            id: new_id("app"),
            department_id: new.department_id,
            name: new.name,
            allowed_models: new.allowed_models,
            secrets_mode: new.secrets_mode,
            created_at: now_ms(),
        };
        let allowed = allowed_column(&app);
        let mut tx = self.write().await?;
        sqlx::query(&format!(
            "INSERT INTO apps (tenant_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&self.tenant_id)
        .bind(&app.id)
        .bind(&app.department_id)
        .bind(&app.name)
        .bind(allowed)
        .bind(app.secrets_mode.as_str())
        .bind(app.created_at)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| StoreError::from(e).on_field("name"))?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "app.create", &app.id)
                .states(None, Some(&serde_json::to_value(&app).unwrap_or_default())),
        )
        .await?;
        tx.commit().await?;
        Ok(app)
    }

    /// Changes some of an app's fields in one audited transaction; moving it to another
    /// department checks that department inside the transaction. An update that changes
    /// nothing writes nothing.
    pub async fn update_app(&self, ctx: &AuditCtx, id: &str, patch: AppPatch) -> Result<App> {
        if let Some(name) = &patch.name {
            check_name("name", name)?;
        }
        let mut tx = self.write().await?;
        let before = fetch(&mut *tx.tx, &self.tenant_id, id).await?;
        let mut after = before.clone();
        if let Some(department_id) = patch.department_id {
            fetch_department(&mut *tx.tx, &self.tenant_id, &department_id)
                .await
                .map_err(|e| e.reference("department_id", "department"))?;
            after.department_id = department_id;
        }
        if let Some(name) = patch.name {
            after.name = name;
        }
        if let Some(allowed) = patch.allowed_models {
            after.allowed_models = allowed;
        }
        if let Some(mode) = patch.secrets_mode {
            after.secrets_mode = mode;
        }
        if after == before {
            return Ok(before);
        }
        sqlx::query(
            "UPDATE apps SET department_id = $1, name = $2, allowed_models = $3, secrets_mode = $4 \
             WHERE tenant_id = $5 AND id = $6",
        )
        .bind(&after.department_id)
        .bind(&after.name)
        .bind(allowed_column(&after))
        .bind(after.secrets_mode.as_str())
        .bind(&self.tenant_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| StoreError::from(e).on_field("name"))?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "app.update", id).change(&before, &after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn get_app(&self, id: &str) -> Result<App> {
        fetch(&self.db.pool, &self.tenant_id, id).await
    }

    /// Apps, optionally only those of one department.
    pub async fn list_apps(&self, department_id: Option<&str>, page: Page) -> Result<Vec<App>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM apps WHERE tenant_id = $1 AND ($2 IS NULL OR department_id = $2) \
             ORDER BY created_at, id LIMIT $3 OFFSET $4"
        ))
        .bind(&self.tenant_id)
        .bind(department_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Deletes the app, all its keys and its call-log policy in one transaction (calls it
    /// logged stay until their retention ends).
    pub async fn delete_app(&self, ctx: &AuditCtx, id: &str) -> Result<()> {
        let app = self.get_app(id).await?;
        let mut tx = self.write().await?;
        for table in ["app_keys", "call_log_policies"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND app_id = $2"
            ))
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        }
        sqlx::query("DELETE FROM apps WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "app.delete", id)
                .states(Some(&serde_json::to_value(&app).unwrap_or_default()), None),
        )
        .await?;
        tx.commit().await
    }
}
