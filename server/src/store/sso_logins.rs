//! Sign-ins under way through a tenant's OpenID provider: what the callback needs, by the
//! `state` sent to the provider. Single use, short-lived, and outside the audit chain
//! (nothing has changed yet; the sign-in itself is audited when it completes).

use super::{Result, Store};
use crate::util::now_ms;

/// What the start of a sign-in left for its callback.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub tenant_id: String,
    pub nonce: String,
    pub code_verifier: String,
    pub return_to: String,
}

impl Store {
    /// Keeps a sign-in's secrets until `expires_at`, and drops the expired ones.
    pub async fn put_sso_login(
        &self,
        state: &str,
        login: &PendingLogin,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query("DELETE FROM sso_logins WHERE expires_at < $1")
            .bind(now_ms())
            .execute(&self.db.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sso_logins (state, tenant_id, nonce, code_verifier, return_to, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(state)
        .bind(&login.tenant_id)
        .bind(&login.nonce)
        .bind(&login.code_verifier)
        .bind(&login.return_to)
        .bind(expires_at)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// The sign-in `state` names, removed so that it cannot be used twice: `None` when
    /// unknown, already used (by this caller or a concurrent one), or expired.
    pub async fn take_sso_login(&self, state: &str) -> Result<Option<PendingLogin>> {
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT tenant_id, nonce, code_verifier, return_to, expires_at FROM sso_logins \
             WHERE state = $1",
        )
        .bind(state)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((tenant_id, nonce, code_verifier, return_to, expires_at)) = row else {
            return Ok(None);
        };
        let deleted = sqlx::query("DELETE FROM sso_logins WHERE state = $1")
            .bind(state)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if deleted == 0 || expires_at < now_ms() {
            return Ok(None);
        }
        Ok(Some(PendingLogin {
            tenant_id,
            nonce,
            code_verifier,
            return_to,
        }))
    }
}
