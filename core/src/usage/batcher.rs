//! The batcher: takes events off the queue and seals a batch after [`BATCH_INTERVAL`] from
//! its first event or at the batch's event limit, whichever comes first.

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::BATCH_INTERVAL;
use super::batch::{Sealed, seal};
use crate::telemetry::UsageEvent;

/// What the deliverer receives, in order.
pub(crate) enum Delivery {
    Batch(Sealed),
    /// Answer once everything before it was delivered or spooled.
    Flush(oneshot::Sender<()>),
}

/// Runs until the sink is dropped; the last events are sealed and handed over first.
pub(crate) async fn run(
    mut events: mpsc::Receiver<UsageEvent>,
    mut flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
    out: mpsc::Sender<Delivery>,
    max: usize,
) {
    let mut current: Vec<UsageEvent> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut flushes_open = true;
    loop {
        let due = deadline.unwrap_or_else(Instant::now);
        tokio::select! {
            biased;
            flush = flushes.recv(), if flushes_open => {
                let Some(done) = flush else {
                    flushes_open = false;
                    continue;
                };
                while let Ok(event) = events.try_recv() {
                    current.push(event);
                    if current.len() >= max {
                        hand_over(&mut current, &mut deadline, &out).await;
                    }
                }
                hand_over(&mut current, &mut deadline, &out).await;
                if out.send(Delivery::Flush(done)).await.is_err() {
                    return;
                }
            }
            event = events.recv() => match event {
                Some(event) => {
                    if current.is_empty() {
                        deadline = Some(Instant::now() + BATCH_INTERVAL);
                    }
                    current.push(event);
                    if current.len() >= max {
                        hand_over(&mut current, &mut deadline, &out).await;
                    }
                }
                None => {
                    hand_over(&mut current, &mut deadline, &out).await;
                    return;
                }
            },
            () = tokio::time::sleep_until(due), if deadline.is_some() => {
                hand_over(&mut current, &mut deadline, &out).await;
            }
        }
    }
}

async fn hand_over(
    current: &mut Vec<UsageEvent>,
    deadline: &mut Option<Instant>,
    out: &mpsc::Sender<Delivery>,
) {
    *deadline = None;
    if current.is_empty() {
        return;
    }
    let events = std::mem::take(current);
    for sealed in seal(&events) {
        if out.send(Delivery::Batch(sealed)).await.is_err() {
            tracing::warn!("the usage deliverer stopped; a batch is lost");
        }
    }
}
