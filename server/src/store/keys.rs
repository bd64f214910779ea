//! App API keys (`sy_<prefix>_<secret>`): shown once, stored as a SHA-256 hash found by
//! its prefix, scoped to one app, with expiry and revocation.

use serde::Serialize;

use super::{AuditCtx, AuditEntry, Result, Store, StoreError, TenantStore};
use crate::auth::tokens::{constant_time_eq, generate, parse};
use crate::util::{new_id, now_ms, sha256_hex};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppKey {
    pub id: String,
    pub app_id: String,
    pub name: String,
    /// Safe to show: identifies the key in lists and logs.
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewKey {
    pub app_id: String,
    pub name: String,
    pub expires_at: Option<i64>,
}

/// Who an app key speaks for.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    pub tenant_id: String,
    pub app_id: String,
    pub key_id: String,
    pub prefix: String,
    /// When the key stops working (Unix ms), if it expires.
    pub expires_at: Option<i64>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);
const COLUMNS: &str = "id, app_id, name, prefix, created_by, created_at, expires_at, revoked_at";

fn from_row(
    (id, app_id, name, prefix, created_by, created_at, expires_at, revoked_at): Row,
) -> AppKey {
    AppKey {
        id,
        app_id,
        name,
        prefix,
        created_by,
        created_at,
        expires_at,
        revoked_at,
    }
}

/// id, tenant, app, hash, expiry, revocation.
type AuthRow = (String, String, String, String, Option<i64>, Option<i64>);

pub const APP_KEY_KIND: &str = "sy";

impl TenantStore<'_> {
    /// Creates a key and returns it with the only copy of its secret.
    pub async fn create_key(&self, ctx: &AuditCtx, new: NewKey) -> Result<(AppKey, String)> {
        self.get_app(&new.app_id).await?;
        super::check_name("name", &new.name)?;
        if let Some(exp) = new.expires_at {
            if exp <= now_ms() {
                return Err(StoreError::invalid("expires_at", "must be in the future"));
            }
        }
        let (secret, prefix) = generate(APP_KEY_KIND);
        let key = AppKey {
            id: new_id("key"),
            app_id: new.app_id,
            name: new.name,
            prefix,
            created_by: ctx.actor.clone(),
            created_at: now_ms(),
            expires_at: new.expires_at,
            revoked_at: None,
        };
        let mut tx = self.write().await?;
        sqlx::query(&format!(
            "INSERT INTO app_keys (tenant_id, hash, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&self.tenant_id)
        .bind(sha256_hex(secret.as_bytes()))
        .bind(&key.id)
        .bind(&key.app_id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.created_by)
        .bind(key.created_at)
        .bind(key.expires_at)
        .bind(key.revoked_at)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "key.create", &key.id)
                .states(None, Some(&serde_json::to_value(&key).unwrap_or_default())),
        )
        .await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    pub async fn get_key(&self, id: &str) -> Result<AppKey> {
        let row: Row = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM app_keys WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(from_row(row))
    }

    pub async fn list_keys(&self, app_id: &str) -> Result<Vec<AppKey>> {
        self.get_app(app_id).await?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM app_keys WHERE tenant_id = $1 AND app_id = $2 ORDER BY created_at, id"
        ))
        .bind(&self.tenant_id)
        .bind(app_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    pub async fn revoke_key(&self, ctx: &AuditCtx, id: &str) -> Result<AppKey> {
        let before = self.get_key(id).await?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let mut after = before.clone();
        after.revoked_at = Some(now_ms());
        let mut tx = self.write().await?;
        sqlx::query("UPDATE app_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(after.revoked_at)
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "key.revoke", id).states(
                Some(&serde_json::to_value(&before).unwrap_or_default()),
                Some(&serde_json::to_value(&after).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

impl Store {
    /// Resolves a presented app key. `None` for anything that does not authenticate:
    /// malformed, unknown, wrong secret, revoked or expired (the caller records why not).
    pub async fn authenticate_app_key(&self, presented: &str) -> Result<Option<KeyAuth>> {
        let Some(prefix) = parse(APP_KEY_KIND, presented) else {
            return Ok(None);
        };
        let row: Option<AuthRow> = sqlx::query_as(
            "SELECT id, tenant_id, app_id, hash, expires_at, revoked_at FROM app_keys WHERE prefix = $1",
        )
        .bind(prefix)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((key_id, tenant_id, app_id, hash, expires_at, revoked_at)) = row else {
            return Ok(None);
        };
        if !constant_time_eq(hash.as_bytes(), sha256_hex(presented.as_bytes()).as_bytes())
            || revoked_at.is_some()
            || expires_at.is_some_and(|e| e <= now_ms())
        {
            return Ok(None);
        }
        Ok(Some(KeyAuth {
            tenant_id,
            app_id,
            key_id,
            prefix: prefix.to_owned(),
            expires_at,
        }))
    }
}
