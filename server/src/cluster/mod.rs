//! Several server replicas on one PostgreSQL (`docs/operations.md`): each replica hears
//! the changes the others commit ([`listener`]) and the background jobs run on one
//! replica at a time ([`leader`]). With SQLite there is one process: it leads every job,
//! and nothing is announced.

pub mod backoff;
pub mod leader;
pub mod listener;

/// This replica's name in logs, heartbeats and `pg_stat_activity`: the host name (a
/// pod's name under Kubernetes) and the process id.
pub fn replica_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "replica".into());
    format!("{host}:{}", std::process::id())
}
