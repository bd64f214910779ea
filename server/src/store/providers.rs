//! Providers: upstream accounts and their credentials, sealed by [`crate::crypto`]. No
//! read here returns a credential; only the SDK resolver and key rotation open them.

use serde::Serialize;

use super::{AuditCtx, AuditEntry, Page, Result, Store, StoreError, TenantStore, check_name};
use crate::crypto::{MasterKey, hint, provider_aad};
use crate::util::{new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub base_url: Option<String>,
    /// e.g. `…a1b2`; `None` when no credential is set.
    pub credential_hint: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewProvider {
    pub name: String,
    pub kind: String,
    pub base_url: Option<String>,
    pub credential: Option<String>,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
const COLUMNS: &str = "id, name, kind, base_url, credential_hint, created_at, updated_at";

fn from_row((id, name, kind, base_url, credential_hint, created_at, updated_at): Row) -> Provider {
    Provider {
        id,
        name,
        kind,
        base_url,
        credential_hint,
        created_at,
        updated_at,
    }
}

fn crypto_err(e: crate::crypto::CryptoError) -> StoreError {
    StoreError::Crypto(e.to_string())
}

impl TenantStore<'_> {
    pub async fn create_provider(
        &self,
        ctx: &AuditCtx,
        key: Option<&MasterKey>,
        new: NewProvider,
    ) -> Result<Provider> {
        check_name("name", &new.name)?;
        let sealed = match &new.credential {
            Some(secret) => {
                let key = key.ok_or_else(|| crypto_err(crate::crypto::CryptoError::Missing))?;
                Some(
                    key.seal(secret, &provider_aad(&self.tenant_id, &new.name))
                        .map_err(crypto_err)?,
                )
            }
            None => None,
        };
        let now = now_ms();
        let provider = Provider {
            id: new_id("prv"),
            name: new.name,
            kind: new.kind,
            base_url: new.base_url,
            credential_hint: new.credential.as_deref().map(hint),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.write().await?;
        sqlx::query(&format!(
            "INSERT INTO providers (tenant_id, credential, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&self.tenant_id)
        .bind(sealed)
        .bind(&provider.id)
        .bind(&provider.name)
        .bind(&provider.kind)
        .bind(&provider.base_url)
        .bind(&provider.credential_hint)
        .bind(provider.created_at)
        .bind(provider.updated_at)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| StoreError::from(e).on_field("name"))?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "provider.create", &provider.id).states(
                None,
                Some(&serde_json::to_value(&provider).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(provider)
    }

    pub async fn get_provider(&self, id: &str) -> Result<Provider> {
        let row: Row = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM providers WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(from_row(row))
    }

    pub async fn list_providers(&self, page: Page) -> Result<Vec<Provider>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM providers WHERE tenant_id = $1 ORDER BY name LIMIT $2 OFFSET $3"
        ))
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Replaces (or with `None` clears) a provider's credential.
    pub async fn set_provider_credential(
        &self,
        ctx: &AuditCtx,
        key: Option<&MasterKey>,
        id: &str,
        credential: Option<&str>,
    ) -> Result<Provider> {
        let before = self.get_provider(id).await?;
        let sealed = match credential {
            Some(secret) => {
                let key = key.ok_or_else(|| crypto_err(crate::crypto::CryptoError::Missing))?;
                Some(
                    key.seal(secret, &provider_aad(&self.tenant_id, &before.name))
                        .map_err(crypto_err)?,
                )
            }
            None => None,
        };
        let mut after = before.clone();
        after.credential_hint = credential.map(hint);
        after.updated_at = now_ms();
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE providers SET credential = $1, credential_hint = $2, updated_at = $3 \
             WHERE tenant_id = $4 AND id = $5",
        )
        .bind(sealed)
        .bind(&after.credential_hint)
        .bind(after.updated_at)
        .bind(&self.tenant_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "provider.credential.set", id).states(
                Some(&serde_json::to_value(&before).unwrap_or_default()),
                Some(&serde_json::to_value(&after).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_provider(&self, ctx: &AuditCtx, id: &str) -> Result<()> {
        let before = self.get_provider(id).await?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM providers WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "provider.delete", id).states(
                Some(&serde_json::to_value(&before).unwrap_or_default()),
                None,
            ),
        )
        .await?;
        tx.commit().await
    }

    /// Opened credentials by provider name: only for configs sent to `direct` apps.
    pub async fn open_credentials(&self, key: &MasterKey) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, credential FROM providers WHERE tenant_id = $1 AND credential IS NOT NULL",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.into_iter()
            .map(|(name, sealed)| {
                let plain = key
                    .open(&sealed, &provider_aad(&self.tenant_id, &name))
                    .map_err(crypto_err)?;
                Ok((name, plain))
            })
            .collect()
    }
}

impl Store {
    /// Re-seals every credential of every tenant from `old` to `new` in one transaction:
    /// either all rows move to the new key or none do.
    pub async fn rotate_master_key(
        &self,
        ctx: &AuditCtx,
        old: &MasterKey,
        new: &MasterKey,
    ) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, tenant_id, name, credential FROM providers WHERE credential IS NOT NULL",
        )
        .fetch_all(&mut *tx.tx)
        .await?;
        let count = rows.len();
        for (id, tenant_id, name, sealed) in rows {
            let aad = provider_aad(&tenant_id, &name);
            let plain = match old.open(&sealed, &aad) {
                Ok(p) => p,
                // Already under the new key: a rerun after a partial operator mistake.
                Err(_) if new.open(&sealed, &aad).is_ok() => continue,
                Err(e) => return Err(crypto_err(e)),
            };
            let resealed = new.seal(&plain, &aad).map_err(crypto_err)?;
            sqlx::query("UPDATE providers SET credential = $1 WHERE id = $2")
                .bind(resealed)
                .bind(&id)
                .execute(&mut *tx.tx)
                .await?;
        }
        let sso = super::sso::reseal_sso_secrets(&mut tx.tx, old, new).await?;
        if sso > 0 {
            tracing::info!(
                sso_secrets = sso,
                "OpenID client secrets resealed under the new master key"
            );
        }
        let logs = super::call_logs::reseal_call_logs(&mut tx.tx, old, new).await?;
        if logs > 0 {
            tracing::info!(
                call_logs = logs,
                "call logs resealed under the new master key"
            );
        }
        tx.audit(AuditEntry::new(
            ctx,
            None,
            "master_key.rotate",
            &format!("{}->{}", old.id(), new.id()),
        ))
        .await?;
        tx.commit().await?;
        Ok(count)
    }
}
