//! The shipping sink: what a call touches. `record` is a non-blocking enqueue; a full queue
//! drops the event and counts it, so the next batch reports it in `dropped`. Made with
//! the batcher and deliverer it feeds.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::batcher::{self, Delivery};
use super::deliver::Deliverer;
use super::queue::EventQueue;
use super::sender::Sender;
use super::spool::Spool;
use super::{FLUSH_TIMEOUT, live};
use crate::telemetry::{UsageEvent, UsageSink};

/// Batches the batcher may hand the deliverer before it waits for it.
const DELIVERY_QUEUE: usize = 4;

/// Ships usage events to the management server. Made by
/// [`UsageShipping::start`](super::UsageShipping::start).
pub struct ShippingSink {
    events: Arc<EventQueue>,
    flushes: mpsc::UnboundedSender<oneshot::Sender<()>>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for ShippingSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShippingSink")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Counters shared by the sink, the batcher and the deliverer.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Dropped events not yet reported in an acknowledged batch's `dropped`.
    pub unreported: AtomicU64,
    pub queue_dropped: AtomicU64,
    pub spool_dropped: AtomicU64,
    pub refused: AtomicU64,
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
}

impl Stats {
    /// `events` lost on this side (queue full, spool cap): reported in the next batch.
    pub fn dropped(&self, counter: &AtomicU64, events: u64) {
        counter.fetch_add(events, Ordering::Relaxed);
        self.unreported.fetch_add(events, Ordering::Relaxed);
    }
}

/// What a shipping sink has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageStats {
    /// Events the server stored.
    pub accepted: u64,
    /// Events the server already had (replays).
    pub duplicates: u64,
    /// Events the server refused one by one.
    pub rejected: u64,
    /// Events dropped because the queue was full.
    pub queue_dropped: u64,
    /// Events dropped at the spool's cap.
    pub spool_dropped: u64,
    /// Events in batches the server refused whole (a 4xx), dropped.
    pub refused: u64,
    /// Dropped events the server has not been told of yet.
    pub unreported: u64,
}

/// Starts the background tasks and returns the sink feeding them.
pub(crate) fn start(
    sender: Sender,
    spool_root: Option<PathBuf>,
    spool_max_bytes: u64,
    queue_capacity: usize,
    batch_max: usize,
) -> Arc<ShippingSink> {
    let events = Arc::new(EventQueue::new(queue_capacity));
    let queued = events.clone();
    let (flushes, flushes_rx) = mpsc::unbounded_channel();
    let (deliveries, deliveries_rx) = mpsc::channel::<Delivery>(DELIVERY_QUEUE);
    let stats = Arc::new(Stats::default());
    let shared = stats.clone();
    let running = live::Running::new();
    live::spawn(async move {
        let _running = running;
        let spool = Spool::open(spool_root.as_deref(), spool_max_bytes);
        let deliverer = Deliverer::new(sender, spool, shared);
        tokio::join!(
            batcher::run(&queued, flushes_rx, deliveries, batch_max),
            deliverer.run(deliveries_rx),
        );
    });
    let sink = Arc::new(ShippingSink {
        events,
        flushes,
        stats,
    });
    live::register(&sink);
    sink
}

impl ShippingSink {
    pub fn stats(&self) -> UsageStats {
        let s = &self.stats;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        UsageStats {
            accepted: load(&s.accepted),
            duplicates: load(&s.duplicates),
            rejected: load(&s.rejected),
            queue_dropped: load(&s.queue_dropped),
            spool_dropped: load(&s.spool_dropped),
            refused: load(&s.refused),
            unreported: load(&s.unreported),
        }
    }

    /// Sends what is queued now and waits until the server acknowledged it (or, with the
    /// server away, it is in the spool), for at most `limit`. Whether it got there.
    pub async fn flush_within(&self, limit: std::time::Duration) -> bool {
        let (done, delivered) = oneshot::channel();
        if self.flushes.send(done).is_err() {
            return true;
        }
        match tokio::time::timeout(limit, delivered).await {
            Ok(_) => true,
            Err(_) => {
                tracing::warn!(
                    ?limit,
                    "usage flush timed out; events still queued may be lost"
                );
                false
            }
        }
    }
}

#[async_trait::async_trait]
impl UsageSink for ShippingSink {
    fn record(&self, event: &UsageEvent) {
        if !self.events.push(event) {
            self.stats.dropped(&self.stats.queue_dropped, 1);
        }
    }

    async fn flush(&self) {
        self.flush_within(FLUSH_TIMEOUT).await;
    }
}
