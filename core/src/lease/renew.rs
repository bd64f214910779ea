//! The renewer: asks for the first grant, renews it, and returns it at the end. Runs on a
//! thread of its own (like usage shipping), so it outlives no runtime of the caller's.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::RETURN_TIMEOUT;
use super::book::{LeaseBook, MIN_RENEW_SPACING};
use super::live;
use super::transport::{LeaseAnswer as Answer, LeaseTransport};
use crate::retry::reconnect_backoff;
use crate::sdk_protocol::{LeaseRequest, LeaseReturn, SliceUse};

/// A want is the spend rate over the last interval, times the interval, times this: room
/// for the spend to double before the next renewal.
const SAFETY: f64 = 2.0;

/// How often a server without a lease endpoint is asked again.
const NO_LEASES_RECHECK: Duration = Duration::from_secs(60);

/// Stops the renewer and tells when the lease was returned.
#[derive(Debug)]
pub(crate) struct Control {
    stop: Notify,
    stopping: AtomicBool,
    done: watch::Sender<bool>,
}

impl Control {
    /// Asks the renewer to return the lease and stop, and waits for it up to `limit`.
    pub async fn close_within(&self, limit: Duration) {
        self.stopping.store(true, Ordering::Release);
        self.stop.notify_one();
        let mut done = self.done.subscribe();
        let _ = tokio::time::timeout(limit, done.wait_for(|d| *d)).await;
    }
}

/// A client's lease: the book its calls spend, and the renewer behind it. Dropping it
/// stops the renewer, which returns the lease.
#[derive(Debug)]
pub struct LeaseClient {
    book: Arc<LeaseBook>,
    control: Arc<Control>,
}

impl LeaseClient {
    pub fn book(&self) -> &Arc<LeaseBook> {
        &self.book
    }

    /// Returns the lease with its final use and stops renewing; waits for the server's
    /// answer up to [`RETURN_TIMEOUT`]. Calls after it spend what is left of the grant.
    pub async fn close(&self) {
        self.control.close_within(RETURN_TIMEOUT).await;
    }
}

impl Drop for LeaseClient {
    fn drop(&mut self) {
        self.control.stopping.store(true, Ordering::Release);
        self.control.stop.notify_one();
    }
}

pub(crate) fn spawn(book: Arc<LeaseBook>, sender: Arc<dyn LeaseTransport>) -> LeaseClient {
    let (done, _) = watch::channel(false);
    let control = Arc::new(Control {
        stop: Notify::new(),
        stopping: AtomicBool::new(false),
        done,
    });
    live::register(&control);
    let renewer = Renewer {
        book: Arc::clone(&book),
        sender,
        instance: uuid::Uuid::now_v7().to_string(),
        lease: None,
        failures: 0,
        last: None,
    };
    let running = Arc::clone(&control);
    crate::process::run_on_own_thread("switchyard-lease", async move {
        renewer.run(&running).await;
        running.done.send_replace(true);
    });
    LeaseClient { book, control }
}

/// What the instance had committed at the last request, to measure its spend rate.
struct Snapshot {
    at: Instant,
    committed: HashMap<String, f64>,
}

struct Renewer {
    book: Arc<LeaseBook>,
    sender: Arc<dyn LeaseTransport>,
    instance: String,
    lease: Option<String>,
    failures: u32,
    last: Option<Snapshot>,
}

impl Renewer {
    async fn run(mut self, control: &Control) {
        while !control.stopping.load(Ordering::Acquire) {
            let started = Instant::now();
            let wait = self.once().await;
            // Renew at the interval, or early when a slice asks (not more often than
            // MIN_RENEW_SPACING), or stop.
            let next = started + wait;
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = control.stop.notified() => break,
                () = self.book.renew.notified() => {
                    tokio::time::sleep_until((started + MIN_RENEW_SPACING).min(next)).await;
                }
            }
        }
        self.give_back().await;
    }

    /// One request; how long until the next.
    async fn once(&mut self) -> Duration {
        let request = self.request();
        match self.sender.acquire(&request).await {
            Answer::Granted(grant) => {
                self.failures = 0;
                if self.lease.as_deref() != Some(grant.lease.as_str()) {
                    tracing::info!(lease = %grant.lease, budgets = grant.budgets.len(), limits = grant.limits.len(), "lease granted");
                }
                self.lease = Some(grant.lease.clone());
                self.book.install(&grant);
                Duration::from_millis(grant.refresh_in_ms.max(1))
            }
            Answer::Gone => {
                tracing::info!(lease = ?self.lease, "lease gone; asking for a new one");
                self.lease = None;
                self.last = None;
                Duration::ZERO
            }
            Answer::NoLeases => {
                tracing::debug!("the server has no lease endpoint: calls are not leased");
                self.book.unleased();
                NO_LEASES_RECHECK
            }
            Answer::Retry { error, after } => {
                self.failures = self.failures.saturating_add(1);
                let delay = reconnect_backoff(self.failures).max(after.unwrap_or_default());
                if self.failures == 1 {
                    tracing::warn!(%error, retry_in = ?delay, "cannot renew the lease; spending the current grant until it expires");
                } else {
                    tracing::debug!(%error, retry_in = ?delay, "cannot renew the lease yet");
                }
                delay
            }
        }
    }

    /// The next request: what was used, and what the recent spend suggests wanting.
    fn request(&mut self) -> LeaseRequest {
        let used = if self.lease.is_some() {
            self.book.used()
        } else {
            Vec::new()
        };
        let now = Instant::now();
        let grant = self.book.grant();
        let mut want = Vec::new();
        if let Some(last) = &self.last {
            let elapsed = now
                .saturating_duration_since(last.at)
                .as_secs_f64()
                .max(1e-3);
            let refresh = self.refresh_secs();
            for budget in &grant.budgets {
                let id = &budget.slice.id;
                let committed = budget.account.committed();
                let rate = last
                    .committed
                    .get(id)
                    .map_or(0.0, |before| (committed - before).max(0.0) / elapsed);
                // Plus what was refused meanwhile: a slice too small for even one call
                // shows no spend at all.
                let amount = rate * refresh * SAFETY + budget.account.take_denied();
                if amount > 0.0 {
                    want.push(SliceUse {
                        id: id.clone(),
                        amount,
                    });
                }
            }
            for limit in &grant.limits {
                let (requests, tokens) = limit.window.take_counts();
                // One amount per limit: requests per minute where the share counts
                // them, else tokens per minute.
                let per_minute = if limit.slice.rpm.is_some() {
                    requests
                } else {
                    tokens
                } as f64
                    * 60.0
                    / elapsed;
                if per_minute > 0.0 {
                    want.push(SliceUse {
                        id: limit.slice.id.clone(),
                        amount: per_minute * SAFETY,
                    });
                }
            }
        }
        self.last = Some(Snapshot {
            at: now,
            committed: used.iter().map(|u| (u.id.clone(), u.amount)).collect(),
        });
        LeaseRequest {
            instance: self.instance.clone(),
            lease: self.lease.clone(),
            used,
            want,
        }
    }

    /// The interval the server set: a want covers one of them.
    fn refresh_secs(&self) -> f64 {
        self.book.refresh().as_secs_f64()
    }

    async fn give_back(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        let used = LeaseReturn {
            used: self.book.used(),
        };
        if self.sender.give_back(&lease, &used).await {
            tracing::info!(%lease, "lease returned");
        }
    }
}
