//! Connection-level faults: the handler asks, the connection task tears the socket down.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Shared between a connection task and the requests it serves.
#[derive(Debug, Default)]
pub(crate) struct ConnCtl {
    reset: AtomicBool,
    notify: Notify,
}

impl ConnCtl {
    /// Ask the connection task to abort the connection with an RST.
    pub(crate) fn reset(&self) {
        self.reset.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Resolves once a request asked for a reset.
    pub(crate) async fn reset_requested(&self) {
        while !self.reset.load(Ordering::Acquire) {
            self.notify.notified().await;
        }
    }
}

/// Never answer; the future is dropped when the client or the server goes away.
pub(crate) async fn hang() -> std::convert::Infallible {
    std::future::pending().await
}

/// A 200 body that is truncated JSON, for the non-stream `malformed` fault.
pub(crate) const MALFORMED_JSON: &[u8] =
    b"{\"id\": \"mock-malformed\", \"choices\": [{\"index\": 0, \"message\": ";
