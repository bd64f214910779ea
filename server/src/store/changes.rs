//! Changes announced to the other replicas on PostgreSQL: every audited write's commit
//! carries a `NOTIFY` naming its tenant, so each replica drops what it keeps in memory
//! for that tenant (its config snapshot, its verified app keys) and wakes its long-polling
//! SDK clients (`crate::cluster::listener`). PostgreSQL delivers a notification only if
//! its transaction commits, and in commit order. SQLite has one server process and needs
//! none of it.

use sqlx::{Any, Transaction};

use super::{Result, Store};
use crate::db::Backend;

/// The channel the replicas listen on.
pub const CHANNEL: &str = "switchyard_changes";

/// The payload of a heartbeat: a replica checks its listener hears its own.
pub const HEARTBEAT_PREFIX: &str = "heartbeat:";

/// The payload naming a change outside any tenant (a tenant created, an operator
/// granted): every tenant's entries are dropped.
pub const EVERY_TENANT: &str = "*";

/// Queues the notifications of `tenants` in the committing transaction `tx`: they are
/// sent when it commits, and never if it rolls back.
pub(crate) async fn announce(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    tenants: &[Option<String>],
) -> Result<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let mut sent: Vec<&str> = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let payload = tenant.as_deref().unwrap_or(EVERY_TENANT);
        if sent.contains(&payload) {
            continue;
        }
        sent.push(payload);
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Sends `payload` on the channel now, outside any transaction (a heartbeat).
    pub async fn notify_replicas(&self, payload: &str) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}
