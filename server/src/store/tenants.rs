//! Tenants: the top of the hierarchy, and the boundary no query crosses.

use serde::Serialize;

use super::{AuditCtx, Result, Store, StoreError};
use crate::audit::AuditEntry;
use crate::util::{new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

impl Store {
    pub async fn create_tenant(&self, ctx: &AuditCtx, name: &str) -> Result<Tenant> {
        if name.trim().is_empty() {
            return Err(StoreError::invalid("name", "must not be empty"));
        }
        let tenant = Tenant {
            id: new_id("ten"),
            name: name.into(),
            created_at: now_ms(),
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(tenant.created_at)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| StoreError::from(e).on_field("name"))?;
        tx.audit(
            AuditEntry::new(ctx, Some(&tenant.id), "tenant.create", &tenant.id).states(
                None,
                Some(&serde_json::to_value(&tenant).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    pub async fn tenant_by_name(&self, name: &str) -> Result<Tenant> {
        let (id, name, created_at): (String, String, i64) =
            sqlx::query_as("SELECT id, name, created_at FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_one(&self.db.pool)
                .await?;
        Ok(Tenant {
            id,
            name,
            created_at,
        })
    }

    pub async fn tenant_count(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tenants")
            .fetch_one(&self.db.pool)
            .await?;
        Ok(n)
    }
}
