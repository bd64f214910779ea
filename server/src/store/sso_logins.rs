//! Sign-ins under way through a tenant's OpenID provider: what the console's callback
//! needs, by the `state` sent to the provider, and what the CLI's polls need (the device
//! code), by the handle the CLI holds. Short-lived, and outside the audit chain (nothing
//! has changed yet; the sign-in itself is audited when it completes).

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

/// What the start of a CLI's device sign-in left for its polls.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub tenant_id: String,
    /// The provider's device code: with the tenant's client credentials, it fetches the
    /// tokens once the person has approved.
    pub device_code: String,
}

/// `return_to` of a device sign-in's row (a console sign-in's is a path under `/ui/`):
/// the same table, no migration; neither kind can be taken as the other.
const DEVICE: &str = "device";

impl Store {
    /// Keeps a sign-in's secrets until `expires_at`, and drops the expired ones.
    pub async fn put_sso_login(
        &self,
        state: &str,
        login: &PendingLogin,
        expires_at: i64,
    ) -> Result<()> {
        self.insert_pending(
            state,
            &login.tenant_id,
            [&login.nonce, &login.code_verifier, &login.return_to],
            expires_at,
        )
        .await
    }

    /// Keeps a device sign-in's device code under `handle` until `expires_at`.
    pub async fn put_sso_device(
        &self,
        handle: &str,
        device: &PendingDevice,
        expires_at: i64,
    ) -> Result<()> {
        self.insert_pending(
            handle,
            &device.tenant_id,
            ["", &device.device_code, DEVICE],
            expires_at,
        )
        .await
    }

    /// The device sign-in `handle` names, left in place for the next poll: `None` when
    /// unknown, finished, expired, or a console sign-in's `state`.
    pub async fn get_sso_device(&self, handle: &str) -> Result<Option<PendingDevice>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, code_verifier FROM sso_logins \
             WHERE state = $1 AND return_to = $2 AND expires_at >= $3",
        )
        .bind(handle)
        .bind(DEVICE)
        .bind(now_ms())
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(|(tenant_id, device_code)| PendingDevice {
            tenant_id,
            device_code,
        }))
    }

    /// Ends a device sign-in (signed in, denied, expired): its handle answers no more.
    pub async fn drop_sso_device(&self, handle: &str) -> Result<()> {
        sqlx::query("DELETE FROM sso_logins WHERE state = $1 AND return_to = $2")
            .bind(handle)
            .bind(DEVICE)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// One row of `sso_logins` (`[nonce, code_verifier, return_to]`), after the expired
    /// ones are dropped.
    async fn insert_pending(
        &self,
        key: &str,
        tenant_id: &str,
        [nonce, verifier, return_to]: [&str; 3],
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
        .bind(key)
        .bind(tenant_id)
        .bind(nonce)
        .bind(verifier)
        .bind(return_to)
        .bind(expires_at)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// The sign-in `state` names, removed so that it cannot be used twice: `None` when
    /// unknown, already used (by this caller or a concurrent one), expired, or a device
    /// sign-in's handle.
    pub async fn take_sso_login(&self, state: &str) -> Result<Option<PendingLogin>> {
        let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT tenant_id, nonce, code_verifier, return_to, expires_at FROM sso_logins \
             WHERE state = $1 AND return_to <> $2",
        )
        .bind(state)
        .bind(DEVICE)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((tenant_id, nonce, code_verifier, return_to, expires_at)) = row else {
            return Ok(None);
        };
        let deleted = sqlx::query("DELETE FROM sso_logins WHERE state = $1 AND return_to <> $2")
            .bind(state)
            .bind(DEVICE)
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
