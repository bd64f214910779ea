//! Server-side budgets and rate limits, leased: each client takes a slice of every
//! budget and limit that applies to its app from the management server
//! (`POST /sdk/v1/leases`, [`crate::sdk_protocol`]) and spends it locally, so the hot path
//! makes no round trip. See `docs/budgets.md`.
//!
//! A renewer on a thread of its own asks for the first grant at start, renews at the
//! grant's `refresh_in_ms` (early when a slice is nearly spent), asks in proportion to the
//! recent spend, backs off while the server is away, starts a new lease when the old one
//! is gone (410/404), and returns the lease with its final `used` on close or at exit.
//! Calls read the grant in force from the [`LeaseBook`] without locks.

mod book;
mod live;
mod renew;
mod transport;
mod wire;

use std::sync::Arc;
use std::time::Duration;

pub use book::LeaseBook;
pub use live::return_all;
pub use renew::LeaseClient;
pub use transport::{LeaseAnswer, LeaseTransport};

pub(crate) use book::Verdict;

use crate::config::Secret;
use crate::error::Result;
use crate::sdk_protocol::ServerDownPolicy;

/// How long the first calls wait for the first grant by default.
pub const FIRST_GRANT_WAIT: Duration = Duration::from_secs(1);

/// How long a close or exit waits for the lease's return.
pub const RETURN_TIMEOUT: Duration = Duration::from_secs(5);

/// How an instance behaves before the server has answered its first lease request.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// The first calls wait this long (from the client's start) for the first grant.
    pub first_grant_wait: Duration,
    /// What calls do when that wait ends without an answer: with no grant the instance
    /// knows of no server budget, so by default they go through (`Allow`) and are
    /// recorded; `Deny` keeps the guarantee for an instance that starts while the server
    /// is away, at the price of refusing every call until it answers.
    pub before_first_grant: ServerDownPolicy,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings {
            first_grant_wait: FIRST_GRANT_WAIT,
            before_first_grant: ServerDownPolicy::Allow,
        }
    }
}

/// Starts leasing from the server at `url` with the app key `key`: the book calls read,
/// and the client that renews it (and returns the lease when closed or dropped).
pub fn start(url: &str, key: Secret, settings: LeaseSettings) -> Result<LeaseClient> {
    let sender = wire::LeaseSender::new(url, key)?;
    Ok(start_with(Arc::new(sender), settings))
}

/// Starts leasing through `transport` (the server's own store, for its gateway).
pub fn start_with(transport: Arc<dyn LeaseTransport>, settings: LeaseSettings) -> LeaseClient {
    let book = Arc::new(LeaseBook::new(settings));
    renew::spawn(book, transport)
}
