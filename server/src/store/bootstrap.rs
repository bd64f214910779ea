//! `switchyard init`: the first tenant, its root department and its infra_admin, in one
//! transaction, so a failed init leaves nothing behind.

use super::tenants::Tenant;
use super::users::{TokenKind, User, insert_binding, insert_token, insert_user};
use super::{AuditCtx, Result, Store, StoreError};
use crate::audit::AuditEntry;
use crate::rbac::Role;
use crate::util::{new_id, now_ms};

pub struct Bootstrapped {
    pub tenant: Tenant,
    pub user: User,
    /// A personal API token for the admin, printed once.
    pub token: String,
}

impl Store {
    pub async fn bootstrap(
        &self,
        ctx: &AuditCtx,
        tenant_name: &str,
        username: &str,
        password_hash: &str,
    ) -> Result<Bootstrapped> {
        if tenant_name.trim().is_empty() {
            return Err(StoreError::invalid("tenant", "must not be empty"));
        }
        let tenant = Tenant {
            id: new_id("ten"),
            name: tenant_name.into(),
            created_at: now_ms(),
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(tenant.created_at)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| StoreError::from(e).on_field("tenant"))?;
        sqlx::query(
            "INSERT INTO departments (id, tenant_id, parent_id, name, created_at) VALUES ($1, $2, NULL, $3, $4)",
        )
        .bind(new_id("dep"))
        .bind(&tenant.id)
        .bind("root")
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await?;
        let user = insert_user(&mut tx.tx, &tenant.id, username, password_hash).await?;
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
            AuditEntry::new(ctx, Some(&tenant.id), "tenant.bootstrap", &tenant.id).states(
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
