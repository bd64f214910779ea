//! The deliverer: sends each sealed batch, and when the server cannot take it, keeps it in
//! the spool and replays the spool, oldest first, with backoff, before anything newer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::batch::with_dropped;
use super::batcher::Delivery;
use super::sender::{Outcome, Sender};
use super::sink::Stats;
use super::spool::Spool;
use crate::retry::reconnect_backoff;

pub(crate) struct Deliverer {
    sender: Sender,
    spool: Spool,
    stats: Arc<Stats>,
    failures: u32,
    /// While set, the server is away: new batches go to the spool, and the spool is
    /// replayed from this time on.
    retry_at: Option<Instant>,
}

/// Whether a batch was done with (sent, or refused for good) or must wait.
enum Sent {
    Done,
    Wait,
}

impl Deliverer {
    pub fn new(sender: Sender, spool: Spool, stats: Arc<Stats>) -> Deliverer {
        // Batches an earlier process left are replayed at once.
        let retry_at = (!spool.is_empty()).then(Instant::now);
        Deliverer {
            sender,
            spool,
            stats,
            failures: 0,
            retry_at,
        }
    }

    /// Runs until the batcher is gone, then makes one last attempt at the spool.
    pub async fn run(mut self, mut batches: mpsc::Receiver<Delivery>) {
        loop {
            let wake = self.retry_at.filter(|_| !self.spool.is_empty());
            tokio::select! {
                delivery = batches.recv() => match delivery {
                    Some(Delivery::Batch(batch)) => self.take(batch.body, batch.events).await,
                    Some(Delivery::Flush(done)) => {
                        let _ = done.send(());
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    self.replay().await;
                }
            }
        }
        if self.retry_at.is_some_and(|at| at <= Instant::now()) {
            self.replay().await;
        }
        if !self.spool.is_empty() {
            tracing::info!(
                batches = self.spool.len(),
                "usage batches left in the spool for the next process"
            );
        }
    }

    /// A new batch: sent now when nothing older waits, else spooled behind the older ones.
    async fn take(&mut self, body: Bytes, events: u64) {
        if self.spool.is_empty() && self.retry_at.is_none() {
            if let Sent::Done = self.send(&body, events).await {
                return;
            }
        }
        let dropped = self.spool.push(&body, events);
        if dropped > 0 {
            self.stats.dropped(&self.stats.spool_dropped, dropped);
        }
        if self.retry_at.is_none() {
            self.retry_at = Some(Instant::now());
        }
    }

    /// Sends the spool oldest first until it is empty or the server fails again.
    async fn replay(&mut self) {
        self.retry_at = None;
        while let Some((body, events)) = self.spool.front() {
            match self.send(&body, events).await {
                Sent::Done => self.spool.pop_front(),
                Sent::Wait => return,
            }
        }
    }

    /// One POST, with the drops not yet reported; on failure schedules the next try.
    async fn send(&mut self, body: &Bytes, events: u64) -> Sent {
        let dropped = self.stats.unreported.load(Ordering::Relaxed);
        let body = match with_dropped(body, dropped) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, events, "a usage batch cannot be read back; dropped");
                return Sent::Done;
            }
        };
        match self.sender.send(body).await {
            Outcome::Acked(ack) => {
                self.failures = 0;
                self.stats.unreported.fetch_sub(dropped, Ordering::Relaxed);
                self.stats
                    .accepted
                    .fetch_add(ack.accepted, Ordering::Relaxed);
                self.stats
                    .duplicates
                    .fetch_add(ack.duplicates, Ordering::Relaxed);
                self.stats
                    .rejected
                    .fetch_add(ack.rejected.len() as u64, Ordering::Relaxed);
                for rejected in &ack.rejected {
                    tracing::warn!(
                        index = rejected.index,
                        id = rejected.id.as_deref().unwrap_or("-"),
                        field = rejected.field.as_deref().unwrap_or("-"),
                        reason = %rejected.reason,
                        "the server refused a usage event"
                    );
                }
                Sent::Done
            }
            Outcome::Refused { status, message } => {
                self.failures = 0;
                self.stats.refused.fetch_add(events, Ordering::Relaxed);
                tracing::warn!(status, %message, events, "the server refused a usage batch; dropped");
                Sent::Done
            }
            Outcome::Retry { error, after } => {
                self.failures = self.failures.saturating_add(1);
                let delay = reconnect_backoff(self.failures).max(after.unwrap_or_default());
                self.retry_at = Some(Instant::now() + delay);
                if self.failures == 1 {
                    tracing::warn!(%error, retry_in = ?delay, "cannot ship usage; batches go to the spool");
                } else {
                    tracing::debug!(%error, retry_in = ?delay, "cannot ship usage yet");
                }
                Sent::Wait
            }
        }
    }
}
