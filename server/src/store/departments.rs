//! Departments: nested groups inside a tenant that own apps and scope role bindings.

use serde::Serialize;

use super::{AuditCtx, Page, Result, StoreError, TenantStore};
use crate::audit::AuditEntry;
use crate::util::{new_id, now_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Department {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub created_at: i64,
}

type Row = (String, Option<String>, String, i64);

fn from_row((id, parent_id, name, created_at): Row) -> Department {
    Department {
        id,
        parent_id,
        name,
        created_at,
    }
}

impl TenantStore<'_> {
    pub async fn create_department(
        &self,
        ctx: &AuditCtx,
        name: &str,
        parent_id: Option<&str>,
    ) -> Result<Department> {
        if name.trim().is_empty() {
            return Err(StoreError::invalid("name", "must not be empty"));
        }
        if let Some(parent) = parent_id {
            match self.get_department(parent).await {
                Err(StoreError::NotFound) => {
                    return Err(StoreError::invalid("parent_id", "no such department"));
                }
                other => {
                    other?;
                }
            }
        }
        let dept = Department {
            id: new_id("dep"),
            parent_id: parent_id.map(str::to_owned),
            name: name.into(),
            created_at: now_ms(),
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO departments (id, tenant_id, parent_id, name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&dept.id)
        .bind(&self.tenant_id)
        .bind(&dept.parent_id)
        .bind(&dept.name)
        .bind(dept.created_at)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "department.create", &dept.id)
                .states(None, Some(&serde_json::to_value(&dept).unwrap_or_default())),
        )
        .await?;
        tx.commit().await?;
        Ok(dept)
    }

    pub async fn get_department(&self, id: &str) -> Result<Department> {
        let row: Row = sqlx::query_as(
            "SELECT id, parent_id, name, created_at FROM departments WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(from_row(row))
    }

    pub async fn list_departments(&self, page: Page) -> Result<Vec<Department>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, parent_id, name, created_at FROM departments WHERE tenant_id = $1 \
             ORDER BY created_at, id LIMIT $2 OFFSET $3",
        )
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// The department and every ancestor, nearest first: what a department-scoped role
    /// binding is checked against.
    pub async fn department_lineage(&self, id: &str) -> Result<Vec<String>> {
        let mut lineage = Vec::new();
        let mut next = Some(id.to_owned());
        while let Some(current) = next {
            if lineage.contains(&current) || lineage.len() > 64 {
                break;
            }
            let dept = self.get_department(&current).await?;
            lineage.push(dept.id);
            next = dept.parent_id;
        }
        Ok(lineage)
    }
}
