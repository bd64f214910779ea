//! Departments: nested groups inside a tenant that own apps and scope role bindings.

use serde::Serialize;
use sqlx::{Any, AnyConnection, Executor};

use super::{AuditCtx, AuditEntry, Page, Result, StoreError, TenantStore, check_name};
use crate::util::{new_id, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Department {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub created_at: i64,
}

/// A partial update: `None` leaves a field alone; `parent_id: Some(None)` makes the
/// department top-level.
#[derive(Debug, Clone, Default)]
pub struct DepartmentPatch {
    pub name: Option<String>,
    pub parent_id: Option<Option<String>>,
}

/// How deep the tree may go: lineage walks stop here, so a deeper tree would lose scope.
const MAX_DEPTH: usize = 64;

type Row = (String, Option<String>, String, i64);

fn from_row((id, parent_id, name, created_at): Row) -> Department {
    Department {
        id,
        parent_id,
        name,
        created_at,
    }
}

pub(super) async fn fetch_department<'e>(
    e: impl Executor<'e, Database = Any>,
    tenant_id: &str,
    id: &str,
) -> Result<Department> {
    let row: Row = sqlx::query_as(
        "SELECT id, parent_id, name, created_at FROM departments WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_one(e)
    .await?;
    Ok(from_row(row))
}

/// The department and every ancestor, nearest first, read on one connection (a write
/// transaction's, so that a move checks the tree it will change).
async fn lineage_on(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> Result<Vec<String>> {
    let mut lineage = Vec::new();
    let mut next = Some(id.to_owned());
    while let Some(current) = next {
        if lineage.contains(&current) || lineage.len() > MAX_DEPTH {
            break;
        }
        let dept = fetch_department(&mut *conn, tenant_id, &current).await?;
        lineage.push(dept.id);
        next = dept.parent_id;
    }
    Ok(lineage)
}

impl TenantStore<'_> {
    pub async fn create_department(
        &self,
        ctx: &AuditCtx,
        name: &str,
        parent_id: Option<&str>,
    ) -> Result<Department> {
        check_name("name", name)?;
        if let Some(parent) = parent_id {
            self.get_department(parent)
                .await
                .map_err(|e| e.reference("parent_id", "department"))?;
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

    /// Renames and/or moves a department. A move under the department itself or under one
    /// of its descendants is refused (it would cut the subtree off in a cycle); the check
    /// reads the tree inside the write transaction, so two concurrent moves cannot race
    /// into a cycle. An update that changes nothing writes nothing.
    pub async fn update_department(
        &self,
        ctx: &AuditCtx,
        id: &str,
        patch: DepartmentPatch,
    ) -> Result<Department> {
        if let Some(name) = &patch.name {
            check_name("name", name)?;
        }
        let mut tx = self.write().await?;
        let before = fetch_department(&mut *tx.tx, &self.tenant_id, id).await?;
        let mut after = before.clone();
        if let Some(name) = patch.name {
            after.name = name;
        }
        if let Some(parent) = patch.parent_id {
            if let Some(parent) = &parent {
                let lineage = lineage_on(&mut tx.tx, &self.tenant_id, parent)
                    .await
                    .map_err(|e| e.reference("parent_id", "department"))?;
                if lineage.iter().any(|d| d == id) {
                    return Err(StoreError::invalid(
                        "parent_id",
                        "a department cannot move under itself or one of its descendants",
                    ));
                }
                // A walk cut short at the depth limit could miss `id` above it.
                if lineage.len() >= MAX_DEPTH {
                    return Err(StoreError::invalid(
                        "parent_id",
                        format!("departments nest at most {MAX_DEPTH} deep"),
                    ));
                }
            }
            after.parent_id = parent;
        }
        if after == before {
            return Ok(before);
        }
        sqlx::query(
            "UPDATE departments SET name = $1, parent_id = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(&after.name)
        .bind(&after.parent_id)
        .bind(&self.tenant_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "department.update", id)
                .change(&before, &after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn get_department(&self, id: &str) -> Result<Department> {
        fetch_department(&self.db.pool, &self.tenant_id, id).await
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
        let mut conn = self.db.pool.acquire().await?;
        lineage_on(&mut conn, &self.tenant_id, id).await
    }
}
