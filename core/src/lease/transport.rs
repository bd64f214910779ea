//! Where an instance's lease requests go: the management server over HTTP for an SDK
//! ([`super::wire`]), or the server's own store for the gateway's in-process clients, so a
//! call through the gateway spends the same slices of the same budgets as an SDK call.

use std::time::Duration;

use crate::sdk_protocol::{LeaseGrant, LeaseRequest, LeaseReturn};

/// What became of one lease request.
#[derive(Debug)]
pub enum LeaseAnswer {
    Granted(LeaseGrant),
    /// The lease named is gone (expired, or unknown): ask for a new one.
    Gone,
    /// There is no lease service at all: nothing is leased; asked again now and then.
    NoLeases,
    /// The service is away or failing: keep the grant, try again (not before `after`).
    Retry {
        error: String,
        after: Option<Duration>,
    },
}

/// Acquires, renews and returns one instance's lease.
#[async_trait::async_trait]
pub trait LeaseTransport: Send + Sync {
    async fn acquire(&self, request: &LeaseRequest) -> LeaseAnswer;
    /// Ends `lease` with its final use; whether the service took it.
    async fn give_back(&self, lease: &str, used: &LeaseReturn) -> bool;
}
