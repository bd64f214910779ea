//! The batcher: takes events off the queue every [`TICK`] and seals a batch
//! [`BATCH_INTERVAL`] after its first event or at the batch's event limit, whichever comes
//! first. A flush seals at once.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::BATCH_INTERVAL;
use super::batch::{Sealed, seal};
use super::queue::EventQueue;
use crate::telemetry::UsageEvent;

/// How often the queue is emptied: how late past its deadline (or its limit) a batch may
/// be sealed. Calls never wake the batcher, so it looks.
const TICK: Duration = Duration::from_millis(50);

/// What the deliverer receives, in order.
pub(crate) enum Delivery {
    Batch(Sealed),
    /// Answer once everything before it was delivered or spooled.
    Flush(oneshot::Sender<()>),
}

/// Runs until the sink is dropped (its flush channel closes); the last events are sealed
/// and handed over first.
pub(crate) async fn run(
    queue: &EventQueue,
    mut flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
    out: mpsc::Sender<Delivery>,
    max: usize,
) {
    let mut batch = Batch {
        events: Vec::new(),
        deadline: None,
        max,
    };
    loop {
        tokio::select! {
            biased;
            flush = flushes.recv() => {
                batch.take(queue, &out).await;
                batch.hand_over(&out).await;
                let Some(done) = flush else {
                    return;
                };
                if out.send(Delivery::Flush(done)).await.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep(TICK) => {
                batch.take(queue, &out).await;
                if batch.deadline.is_some_and(|d| d <= Instant::now()) {
                    batch.hand_over(&out).await;
                }
            }
        }
    }
}

/// The batch being filled.
struct Batch {
    events: Vec<UsageEvent>,
    deadline: Option<Instant>,
    max: usize,
}

impl Batch {
    /// Moves what is queued into the batch, handing it over each time it is full.
    async fn take(&mut self, queue: &EventQueue, out: &mpsc::Sender<Delivery>) {
        while let Some(event) = queue.pop() {
            if self.events.is_empty() {
                self.deadline = Some(Instant::now() + BATCH_INTERVAL);
            }
            self.events.push(event);
            if self.events.len() >= self.max {
                self.hand_over(out).await;
            }
        }
    }

    async fn hand_over(&mut self, out: &mpsc::Sender<Delivery>) {
        self.deadline = None;
        if self.events.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.events);
        for sealed in seal(&events) {
            if out.send(Delivery::Batch(sealed)).await.is_err() {
                tracing::warn!("the usage deliverer stopped; a batch is lost");
            }
        }
    }
}
