//! Each replica's ear on PostgreSQL: a connection of its own `LISTEN`s on
//! [`CHANNEL`](crate::store::changes::CHANNEL), and every change another replica (or the
//! CLI, or this one) commits drops what this replica keeps in memory for that tenant —
//! the config snapshot and the verified app keys — and wakes its long-polling SDK clients,
//! who then find the new config if there is one.
//!
//! Notifications are not stored: whatever was sent while the connection was down is
//! lost. So on every (re)connection everything is dropped and everyone woken once. A
//! connection that died without an error (a firewall forgetting an idle flow) is found by
//! a heartbeat: the replica notifies its own name every [`HEARTBEAT`], and a listener
//! that has not heard one sent [`DEAF_AFTER`] ago is replaced.

use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgPoolOptions};

use super::backoff::Backoff;
use crate::state::AppState;
use crate::store::changes::{CHANNEL, EVERY_TENANT, HEARTBEAT_PREFIX};

pub const HEARTBEAT: Duration = Duration::from_secs(5);
pub const DEAF_AFTER: Duration = Duration::from_secs(10);

/// Drops what `payload` (a tenant id, or [`EVERY_TENANT`]) names and wakes the waiters.
pub fn apply(state: &AppState, payload: &str) {
    if payload == EVERY_TENANT {
        forget_everything(state);
        return;
    }
    state.keys.forget_tenant(payload);
    state.config_changed(payload);
}

/// After notifications may have been missed: nothing cached is trusted, everyone woken.
fn forget_everything(state: &AppState) {
    state.keys.clear();
    state.configs.clear();
    state.activations.send_modify(|n| *n += 1);
}

/// Opens a listener on a pool of its own (one connection, never recycled), so a dead
/// listener's connection is never waited for by the next one.
async fn listen(state: &AppState) -> Result<PgListener, sqlx::Error> {
    let options = state
        .store
        .db
        .pg_options
        .as_deref()
        .ok_or_else(|| sqlx::Error::Configuration("the listener needs PostgreSQL".into()))?
        .clone()
        .application_name("switchyard listener");
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Runs the listener until the process ends.
pub fn spawn(state: AppState, replica: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Backoff::default();
        let heartbeat = format!("{HEARTBEAT_PREFIX}{replica}");
        loop {
            let mut listener = match listen(&state).await {
                Ok(l) => l,
                Err(error) => {
                    tracing::warn!(%error, "replica listener: cannot listen; retrying");
                    tokio::time::sleep(backoff.next_wait()).await;
                    continue;
                }
            };
            backoff.reset();
            tracing::info!(replica, "replica listener: listening for changes");
            forget_everything(&state);
            // When the oldest heartbeat sent and not yet heard went out.
            let mut unheard_since: Option<Instant> = None;
            let mut beat = tokio::time::interval(HEARTBEAT);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    got = listener.try_recv() => match got {
                        Ok(Some(notification)) => {
                            let payload = notification.payload();
                            match payload.strip_prefix(HEARTBEAT_PREFIX) {
                                Some(from) if from == replica => unheard_since = None,
                                Some(_) => {}
                                None => apply(&state, payload),
                            }
                        }
                        Ok(None) => {
                            // sqlx reconnected and listens again; what came between is lost.
                            tracing::warn!("replica listener: connection lost and restored");
                            forget_everything(&state);
                        }
                        Err(error) => {
                            tracing::warn!(%error, "replica listener: connection lost");
                            break;
                        }
                    },
                    _ = beat.tick() => {
                        if unheard_since.is_some_and(|at| at.elapsed() >= DEAF_AFTER) {
                            tracing::warn!("replica listener: its own heartbeat never came back; reconnecting");
                            break;
                        }
                        match state.store.notify_replicas(&heartbeat).await {
                            Ok(()) => {
                                unheard_since.get_or_insert_with(Instant::now);
                            }
                            Err(error) => tracing::debug!(%error, "replica listener: heartbeat not sent"),
                        }
                    }
                }
            }
            drop(listener);
            tokio::time::sleep(backoff.next_wait()).await;
        }
    })
}
