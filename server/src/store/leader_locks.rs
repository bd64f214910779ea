//! The session that holds a replica's job leaderships on PostgreSQL: one connection of its
//! own (outside the pool), on which each job's advisory lock is taken with
//! `pg_try_advisory_lock`. A session lock lasts as long as the session: when the replica
//! dies its connection closes and PostgreSQL releases every lock it held, so another
//! replica takes the job over (`crate::cluster::leader`).
//!
//! The connection must reach PostgreSQL itself, not a pooler in transaction mode, which
//! would hand the session (and its locks) to other clients.

use sqlx::{Connection, PgConnection};

use super::{Result, StoreError};
use crate::db::Db;

/// A dead peer is noticed by PostgreSQL's keepalives after about idle + interval × count
/// seconds, which bounds how long a vanished host (not just a dead process) keeps a job.
const KEEPALIVES: [(&str, u32); 3] = [
    ("tcp_keepalives_idle", 5),
    ("tcp_keepalives_interval", 2),
    ("tcp_keepalives_count", 3),
];

pub struct LockSession {
    conn: PgConnection,
}

impl LockSession {
    /// Opens the session, named `name` in `pg_stat_activity` so operators see who leads.
    pub async fn open(db: &Db, name: &str) -> Result<LockSession> {
        let options = db
            .pg_options
            .as_deref()
            .ok_or_else(|| StoreError::Internal("leader locks need PostgreSQL".into()))?
            .clone()
            .application_name(name);
        let mut conn = PgConnection::connect_with(&options).await?;
        for (setting, value) in KEEPALIVES {
            // A SET takes no bind parameters; the names and values are constants.
            sqlx::query(&format!("SET {setting} = {value}"))
                .execute(&mut conn)
                .await?;
        }
        Ok(LockSession { conn })
    }

    /// Takes advisory lock `key` if no other session holds it. Never called twice for a
    /// key this session holds: the lock would be counted twice.
    pub async fn try_lock(&mut self, key: i64) -> Result<bool> {
        let (taken,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(taken)
    }

    /// A round trip: while it answers, the session and its locks are alive.
    pub async fn ping(&mut self) -> Result<()> {
        self.conn.ping().await?;
        Ok(())
    }

    /// Closes the session, releasing every lock it holds.
    pub async fn close(self) {
        if let Err(error) = self.conn.close().await {
            tracing::debug!(%error, "leader lock session not closed cleanly");
        }
    }
}
