//! Usage shipping: every call's usage event, queued without blocking the call, batched, and
//! sent to the management server (`POST /sdk/v1/usage`, [`crate::sdk_protocol`]), waiting
//! in a spool on disk while the server cannot be reached.
//!
//! A call only enqueues ([`ShippingSink::record`]). One task batches (at most
//! [`BATCH_INTERVAL`] or [`USAGE_MAX_EVENTS`] events), another delivers: a batch is
//! forgotten only once the server acknowledged it, refused it for good (a 4xx other than
//! 408/429), or it was dropped at the spool's cap. See `docs/usage.md`.

mod batch;
mod batcher;
mod deliver;
mod live;
mod queue;
mod sender;
mod sink;
mod spool;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use live::flush_all;
pub use sink::{ShippingSink, UsageStats};

use crate::config::{DEFAULT_SPOOL_MAX_BYTES, Secret, UsageConfig};
use crate::error::Result;
use crate::sdk_protocol::USAGE_MAX_EVENTS;

/// A batch is sent at the latest this long after its first event.
pub const BATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Events a call may queue before the background task takes them; past it they are dropped
/// (and counted), never waited for.
pub const DEFAULT_QUEUE_CAPACITY: usize = 50_000;

/// How long a flush waits for the server (or the spool) to take what was queued.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how a client ships its usage. Built from the config's `usage` section, or
/// from the config server's URL and key.
#[derive(Debug, Clone)]
pub struct UsageShipping {
    url: String,
    api_key: Secret,
    spool_dir: Option<PathBuf>,
    spool_max_bytes: u64,
    queue_capacity: usize,
}

impl UsageShipping {
    /// The server's base URL and the app key (`sy_…`, or `${VAR}`).
    pub fn new(url: impl Into<String>, api_key: Secret) -> UsageShipping {
        UsageShipping {
            url: url.into().trim_end_matches('/').to_owned(),
            api_key,
            spool_dir: None,
            spool_max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }

    pub fn from_config(config: &UsageConfig) -> UsageShipping {
        let mut shipping = UsageShipping::new(config.server.as_str(), config.api_key.clone());
        shipping.spool_dir = config.spool_dir.clone();
        if let Some(cap) = config.spool_max_bytes {
            shipping.spool_max_bytes = cap;
        }
        shipping
    }

    /// The spool's directory (default: `switchyard/usage` under the OS cache directory).
    /// Each server and key gets a subdirectory of it.
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> UsageShipping {
        self.spool_dir = Some(dir.into());
        self
    }

    /// The spool's cap in bytes (default 256 MiB).
    pub fn spool_max_bytes(mut self, cap: u64) -> UsageShipping {
        self.spool_max_bytes = cap.max(1);
        self
    }

    /// How many events may wait for the batcher (default [`DEFAULT_QUEUE_CAPACITY`]).
    pub fn queue_capacity(mut self, capacity: usize) -> UsageShipping {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Starts the batcher and the deliverer, on a thread of their own. They stop once the
    /// sink is dropped, after one last delivery of what was queued.
    pub fn start(self) -> Result<Arc<ShippingSink>> {
        let sender = sender::Sender::new(&self.url, self.api_key.clone())?;
        let spool_root = spool::root(self.spool_dir.as_deref(), &self.url, &self.api_key);
        Ok(sink::start(
            sender,
            spool_root,
            self.spool_max_bytes,
            self.queue_capacity,
            USAGE_MAX_EVENTS,
        ))
    }
}
