//! Connecting to SQLite or PostgreSQL through `sqlx::Any`, and applying the migrations.
//!
//! Why `Any` and not a dialect layer: the schema sticks to types both engines share (TEXT,
//! BIGINT), every query uses `$n` placeholders (which SQLite accepts too), so one set of
//! SQL serves both with no generic plumbing through the store.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AnyPool, Executor};

use crate::audit::AuditKeys;
use crate::store_error::StoreError;
use crate::util::{now_ms, percent_decode};

/// Migrations, in order. Applied at start, each in its own transaction.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "users_operator_display_name",
        include_str!("../migrations/0002_users_operator_display_name.sql"),
    ),
    (3, "usage", include_str!("../migrations/0003_usage.sql")),
    (4, "budgets", include_str!("../migrations/0004_budgets.sql")),
    (
        5,
        "rollouts",
        include_str!("../migrations/0005_rollouts.sql"),
    ),
    (6, "alerts", include_str!("../migrations/0006_alerts.sql")),
    (
        7,
        "call_logs",
        include_str!("../migrations/0007_call_logs.sql"),
    ),
    (8, "sso", include_str!("../migrations/0008_sso.sql")),
    (
        9,
        "sso_service",
        include_str!("../migrations/0009_sso_service.sql"),
    ),
    (
        11,
        "audit_keyed",
        include_str!("../migrations/0011_audit_keyed.sql"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The pool plus a process-wide writer lock. SQLite allows one writer at a time anyway;
/// taking the lock in-process avoids busy retries, and on PostgreSQL the audit head row
/// lock serialises writers across replicas.
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    pub(crate) write_lock: Arc<tokio::sync::Mutex<()>>,
    /// The audit MAC keys (`crate::audit::key`); `None` keeps an unkeyed chain unkeyed.
    pub(crate) audit_keys: Option<Arc<AuditKeys>>,
    /// The chain's switch-over point as this process found or made it: a head that later
    /// says otherwise was tampered with, and nothing more is appended to it.
    pub(crate) keyed_from_seen: Arc<std::sync::OnceLock<i64>>,
    /// On PostgreSQL, how to open a connection of its own outside the pool: the replicas'
    /// change listener and the job leader's locks each hold one (`crate::cluster`).
    pub(crate) pg_options: Option<Arc<PgConnectOptions>>,
}

/// `sqlite://path`, a bare file path, or `postgres://…`.
pub fn normalise_url(url: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        url.to_owned()
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.contains('?') {
            format!("sqlite://{path}")
        } else {
            format!("sqlite://{path}?mode=rwc")
        }
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let url = normalise_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let pg_options = match backend {
            Backend::Postgres => {
                check_root_cert(&url)?;
                Some(Arc::new(PgConnectOptions::from_str(&url)?))
            }
            Backend::Sqlite => None,
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| connect_error(backend, e))?;
        Ok(Db {
            pool,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            audit_keys: None,
            keyed_from_seen: Arc::default(),
            pg_options,
        })
    }

    /// Key the audit chain from the next record on with these keys.
    pub fn with_audit_keys(mut self, keys: Option<AuditKeys>) -> Db {
        self.audit_keys = keys.map(Arc::new);
        self
    }

    pub fn audit_keys(&self) -> Option<Arc<AuditKeys>> {
        self.audit_keys.clone()
    }

    /// Applies every migration not yet recorded. Returns how many ran.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL.
            tx.execute("SELECT pg_advisory_xact_lock(7420615)").await?;
        }
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
             name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await?;
        tx.commit().await?;
        let applied: Vec<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations")
            .fetch_all(&self.pool)
            .await?;
        let mut ran = 0;
        for (version, name, sql) in MIGRATIONS {
            if applied.iter().any(|(v,)| v == version) {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            if self.backend == Backend::Postgres {
                // Replicas starting together queue here; the recheck below lets the later ones skip.
                tx.execute("SELECT pg_advisory_xact_lock(7420615)").await?;
            }
            // Claiming the version first takes SQLite's write lock too: of several
            // processes migrating at once, one applies it and the others find it claimed.
            let claimed = sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(*version)
            .bind(*name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await;
            match claimed {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    tx.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            for statement in split_statements(sql) {
                tx.execute(statement.as_str()).await?;
            }
            tx.commit().await?;
            tracing::info!(version, name, "migration applied");
            ran += 1;
        }
        Ok(ran)
    }

    /// On SQLite, the process's writer lock (writes that skip [`crate::store::WriteTx`]
    /// queue on it rather than race through SQLite's busy-wait); on PostgreSQL, nothing.
    pub(crate) async fn sqlite_writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        }
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// A CA file named by `sslrootcert` must be readable: said before connecting, since the
/// driver reports a missing one as a bare I/O error that names no file.
fn check_root_cert(url: &str) -> Result<(), StoreError> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    for path in query
        .split('&')
        .filter_map(|p| p.strip_prefix("sslrootcert="))
    {
        let path = percent_decode(path);
        if let Err(e) = std::fs::File::open(&path) {
            return Err(StoreError::Tls(format!(
                "cannot read sslrootcert {path}: {e}"
            )));
        }
    }
    Ok(())
}

/// A failed first connection. TLS failures are named: the driver reports a handshake
/// that fails (a certificate signed by another CA, say) as invalid data on the socket,
/// which nothing else on a fresh PostgreSQL connection produces.
fn connect_error(backend: Backend, e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Tls(inner) => StoreError::Tls(inner.to_string()),
        sqlx::Error::Io(io)
            if backend == Backend::Postgres && io.kind() == std::io::ErrorKind::InvalidData =>
        {
            StoreError::Tls(io.to_string())
        }
        other => other.into(),
    }
}

/// Splits a migration into statements, dropping `--` comments. Migrations never put a
/// semicolon inside a literal, so a plain split is exact.
fn split_statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .map(|l| match l.find("--") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
