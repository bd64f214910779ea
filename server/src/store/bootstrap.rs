//! A new tenant with its root department and first infra_admin, in one transaction, so a
//! failure leaves nothing behind: `switchyard init`, and `POST /api/v1/tenants` for
//! server operators.

use super::tenants::{Tenant, insert_tenant};
use super::users::{TokenKind, User, insert_binding, insert_token, insert_user};
use super::{AuditCtx, AuditEntry, Result, Store};
use crate::rbac::Role;
use crate::util::{new_id, now_ms};

pub struct Bootstrapped {
    pub tenant: Tenant,
    pub user: User,
    /// A personal API token for the admin, printed once.
    pub token: String,
}

/// What a new tenant starts with.
#[derive(Debug, Clone, Copy)]
pub struct NewTenant<'a> {
    pub name: &'a str,
    pub admin: &'a str,
    pub password_hash: &'a str,
    /// Make the admin a server operator. The first tenant's admin always is one: someone
    /// must be able to create the next tenant.
    pub operator: bool,
}

impl Store {
    /// A tenant whose admin is an operator only if it is the first tenant.
    pub async fn bootstrap(
        &self,
        ctx: &AuditCtx,
        tenant_name: &str,
        username: &str,
        password_hash: &str,
    ) -> Result<Bootstrapped> {
        self.create_tenant(
            ctx,
            NewTenant {
                name: tenant_name,
                admin: username,
                password_hash,
                operator: false,
            },
        )
        .await
    }

    /// The tenant, its root department, its infra_admin (tenant-wide binding) and a
    /// personal token, audited in the new tenant's log as `tenant.create`.
    pub async fn create_tenant(&self, ctx: &AuditCtx, new: NewTenant<'_>) -> Result<Bootstrapped> {
        let mut tx = self.db.begin_write().await?;
        let (existing,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tenants")
            .fetch_one(&mut *tx.tx)
            .await?;
        let tenant = insert_tenant(&mut tx.tx, new.name, "tenant").await?;
        sqlx::query(
            "INSERT INTO departments (id, tenant_id, parent_id, name, created_at) VALUES ($1, $2, NULL, $3, $4)",
        )
        .bind(new_id("dep"))
        .bind(&tenant.id)
        .bind("root")
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        let operator = new.operator || existing == 0;
        let user = insert_user(
            &mut tx.tx,
            &tenant.id,
            new.admin,
            new.password_hash,
            None,
            operator,
        )
        .await?;
        insert_binding(&mut tx.tx, &tenant.id, &user.id, Role::InfraAdmin, None).await?;
        let (_, token) = insert_token(
            &mut tx.tx,
            &tenant.id,
            &user.id,
            TokenKind::Personal,
            "init",
            None,
        )
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&tenant.id), "tenant.create", &tenant.id).states(
                None,
                Some(&serde_json::json!({"tenant": &tenant, "admin": &user})),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Bootstrapped {
            tenant,
            user,
            token,
        })
    }
}
