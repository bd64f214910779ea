//! Who a provider's subject is here. A person signing in for the first time is provisioned
//! as a user of the tenant, linked to `(issuer, sub)`: never to a local user of the same
//! name, so an identity provider cannot take over a local (break-glass) account.

use super::users::insert_user;
use super::{AuditCtx, AuditEntry, Result, StoreError, TenantStore, User};
use crate::util::{now_ms, sha256_hex};

/// Not a hash any password verifies against: SSO users have no local password.
pub const NO_PASSWORD: &str = "!sso";

impl TenantStore<'_> {
    /// The user `(issuer, subject)` is, provisioned now when it is new (audited as
    /// `sso.provision`). `username` is the provider's preferred name;
    /// when a user of that name exists already, a suffix from the subject's hash keeps the
    /// two apart.
    pub async fn sso_user(
        &self,
        ctx: &AuditCtx,
        issuer: &str,
        subject: &str,
        username: &str,
        display_name: Option<&str>,
    ) -> Result<User> {
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT user_id FROM sso_identities WHERE tenant_id = $1 AND issuer = $2 AND subject = $3",
        )
        .bind(&self.tenant_id)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.db.pool)
        .await?;
        if let Some((user_id,)) = found {
            return self.get_user(&user_id).await;
        }
        let mut tx = self.write().await?;
        let taken: Option<(String,)> =
            sqlx::query_as("SELECT id FROM users WHERE tenant_id = $1 AND username = $2")
                .bind(&self.tenant_id)
                .bind(username)
                .fetch_optional(&mut *tx.tx)
                .await?;
        let name = match taken {
            None => username.to_owned(),
            Some(_) => format!(
                "{username}~{}",
                &sha256_hex(format!("{issuer} {subject}").as_bytes())[..8]
            ),
        };
        let user = insert_user(
            &mut tx.tx,
            &self.tenant_id,
            &name,
            NO_PASSWORD,
            display_name,
            false,
        )
        .await?;
        sqlx::query(
            "INSERT INTO sso_identities (tenant_id, issuer, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&self.tenant_id)
        .bind(issuer)
        .bind(subject)
        .bind(&user.id)
        .bind(now_ms())
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict { .. } => {
                StoreError::Internal("the same identity signed in twice at once".into())
            }
            other => other,
        })?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "sso.provision", &user.id).states(
                None,
                Some(&serde_json::json!({"user": user, "issuer": issuer, "subject": subject})),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}
