//! Tenants: the top of the hierarchy, and the boundary no query crosses. Reading the list
//! of tenants is for server operators only (see `docs/server.md`, "Tenants").

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::{Page, Result, Store, StoreError, check_name};
use crate::util::{new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

type Row = (String, String, i64);

fn from_row((id, name, created_at): Row) -> Tenant {
    Tenant {
        id,
        name,
        created_at,
    }
}

/// Inserts the tenant row inside a larger transaction; `field` names the name in errors.
pub(super) async fn insert_tenant(
    tx: &mut Transaction<'static, Any>,
    name: &str,
    field: &str,
) -> Result<Tenant> {
    check_name(field, name)?;
    let tenant = Tenant {
        id: new_id("ten"),
        name: name.into(),
        created_at: now_ms(),
    };
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(tenant.created_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::from(e).on_field(field))?;
    Ok(tenant)
}

impl Store {
    pub async fn tenant_by_name(&self, name: &str) -> Result<Tenant> {
        let row: Row = sqlx::query_as("SELECT id, name, created_at FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_one(&self.db.pool)
            .await?;
        Ok(from_row(row))
    }

    /// Every tenant, oldest first: the operator's view (names and ids, nothing inside).
    pub async fn list_tenants(&self, page: Page) -> Result<Vec<Tenant>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, name, created_at FROM tenants ORDER BY created_at, id LIMIT $1 OFFSET $2",
        )
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    pub async fn tenant_count(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tenants")
            .fetch_one(&self.db.pool)
            .await?;
        Ok(n)
    }
}
