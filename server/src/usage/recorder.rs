//! Usage of the gateway's own calls. Each app's core client reports to a sink for that
//! app; the sink queues without blocking the call, and one task stores what is queued in
//! batches, through the same validation and ingestion as `POST /sdk/v1/usage`, so a gateway
//! call is counted exactly like an SDK call.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use switchyard::sdk_protocol::USAGE_MAX_EVENTS;
use switchyard::telemetry::{UsageEvent, UsageSink};
use tokio::sync::{mpsc, oneshot};

use super::leases::refuse_foreign_leases;
use super::validate::{Window, check_typed};
use crate::state::AppState;
use crate::store::KeyAuth;
use crate::util::now_ms;

/// Events that may wait for the storing task; past it they are dropped and counted.
const QUEUE: usize = 50_000;

/// How long a flush waits for the queued events to be stored.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The app an event is charged to, as the caller's key proved it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Charged {
    tenant_id: String,
    app_id: String,
}

enum Message {
    Event(Arc<Charged>, Box<UsageEvent>),
    /// Answered once everything queued before it is stored.
    Flush(oneshot::Sender<()>),
}

/// The gateway's usage: one queue and one storing task for the whole server, started by
/// the first client that needs it.
#[derive(Default)]
pub struct UsageRecorder {
    queue: OnceLock<mpsc::Sender<Message>>,
    dropped: Arc<AtomicU64>,
}

impl UsageRecorder {
    /// The sink for the app `key` speaks for. Starts the storing task (on the current
    /// runtime) the first time.
    pub fn sink(&self, state: &AppState, key: &KeyAuth) -> Arc<dyn UsageSink> {
        let queue = self
            .queue
            .get_or_init(|| {
                let (queue, messages) = mpsc::channel(QUEUE);
                tokio::spawn(store_queued(state.clone(), messages));
                queue
            })
            .clone();
        Arc::new(AppUsage {
            charged: Arc::new(Charged {
                tenant_id: key.tenant_id.clone(),
                app_id: key.app_id.clone(),
            }),
            queue,
            dropped: self.dropped.clone(),
        })
    }

    /// Stores what is queued, waiting at most [`FLUSH_TIMEOUT`]; at shutdown.
    pub async fn flush(&self) {
        if let Some(queue) = self.queue.get() {
            flush(queue).await;
        }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn flush(queue: &mpsc::Sender<Message>) {
    let (done, stored) = oneshot::channel();
    if queue.send(Message::Flush(done)).await.is_ok()
        && tokio::time::timeout(FLUSH_TIMEOUT, stored).await.is_err()
    {
        tracing::warn!("gateway usage flush timed out; queued events may be lost");
    }
}

/// One app's sink.
struct AppUsage {
    charged: Arc<Charged>,
    queue: mpsc::Sender<Message>,
    dropped: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl UsageSink for AppUsage {
    fn record(&self, event: &UsageEvent) {
        let message = Message::Event(self.charged.clone(), Box::new(event.clone()));
        if self.queue.try_send(message).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(app = %self.charged.app_id, "gateway usage queue full: event dropped");
        }
    }

    async fn flush(&self) {
        flush(&self.queue).await;
    }
}

/// Takes what is queued (up to a batch's worth, gathered for at most [`BATCH_WINDOW`])
/// and stores it, app by app, until the queue closes.
async fn store_queued(state: AppState, mut messages: mpsc::Receiver<Message>) {
    let mut taken = Vec::with_capacity(USAGE_MAX_EVENTS);
    while messages.recv_many(&mut taken, USAGE_MAX_EVENTS).await > 0 {
        gather(&mut messages, &mut taken).await;
        let mut by_app: BTreeMap<Arc<Charged>, Vec<UsageEvent>> = BTreeMap::new();
        let mut flushes = Vec::new();
        for message in taken.drain(..) {
            match message {
                Message::Event(charged, event) => by_app.entry(charged).or_default().push(*event),
                Message::Flush(done) => flushes.push(done),
            }
        }
        for (charged, events) in by_app {
            store(&state, &charged, events).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// How long a batch's first event waits for company. Storing what happened to be queued
/// made batches of a handful of events at load, and each batch's transaction cost more
/// than its rows; a quarter second still keeps reports current.
const BATCH_WINDOW: Duration = Duration::from_millis(250);

/// Adds to `taken` what arrives within [`BATCH_WINDOW`], up to a batch; a flush ends the
/// wait at once.
async fn gather(messages: &mut mpsc::Receiver<Message>, taken: &mut Vec<Message>) {
    let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
    let mut seen = 0;
    while taken.len() < USAGE_MAX_EVENTS {
        if taken[seen..].iter().any(|m| matches!(m, Message::Flush(_))) {
            return;
        }
        seen = taken.len();
        let room = USAGE_MAX_EVENTS - taken.len();
        match tokio::time::timeout_at(deadline, messages.recv_many(taken, room)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Stores one app's events. The key proved the tenant and the app, so the events' own
/// names for them (which an app rename can leave stale) are not checked again.
async fn store(state: &AppState, charged: &Charged, events: Vec<UsageEvent>) {
    let tenant = state.store.tenant(&charged.tenant_id);
    let sender = match tenant.usage_sender(&charged.app_id).await {
        Ok(sender) => sender,
        Err(error) => {
            tracing::warn!(%error, app = %charged.app_id, events = events.len(), "gateway usage not stored: the app is gone");
            return;
        }
    };
    let window = Window::at(now_ms(), state.usage_retention_days);
    // Content is read from each event's JSON, as an SDK's would be, and only for an app
    // whose policy logs something (serializing every event would tax every call).
    let logging = match tenant.call_log_policy(&sender.app_id).await {
        Ok(policy) => policy.logs_anything(),
        Err(error) => {
            tracing::warn!(%error, app = %charged.app_id, "gateway call-log policy unreadable");
            false
        }
    };
    let contents: HashMap<String, String> = if logging {
        events
            .iter()
            .filter_map(|e| {
                crate::call_logs::content::from_event(e).map(|j| (e.id.to_ascii_lowercase(), j))
            })
            .collect()
    } else {
        HashMap::new()
    };
    let checked = events
        .into_iter()
        .enumerate()
        .map(|(index, mut event)| {
            event.tenant = None;
            event.app = None;
            check_typed(index, event, &sender, window)
        })
        .collect();
    let checked = match refuse_foreign_leases(&tenant, &sender.app_id, checked).await {
        Ok(checked) => checked,
        Err(error) => {
            tracing::error!(%error, app = %charged.app_id, "gateway usage not stored");
            return;
        }
    };
    let mut kept = Vec::with_capacity(checked.len());
    let mut rejected = 0u64;
    for event in checked {
        match event {
            Ok(event) => kept.push(event),
            Err(refused) => {
                rejected += 1;
                tracing::warn!(reason = %refused.reason, field = ?refused.field, "gateway usage event refused");
            }
        }
    }
    let logs =
        match crate::call_logs::intake::for_batch(state, &tenant, &sender, &kept, contents).await {
            Ok(logs) => logs,
            Err(error) => {
                tracing::error!(%error, app = %charged.app_id, "gateway call logs not stored");
                HashMap::new()
            }
        };
    match tenant.ingest_usage_logged(&sender, kept, &logs).await {
        Ok(done) => {
            if let Err(error) = tenant
                .record_policy_violations(&done.inserted, "gateway", &sender.app_name)
                .await
            {
                tracing::error!(%error, app = %charged.app_id, "gateway policy violations not recorded");
            }
            state.metrics.usage_ingested(
                &sender.tenant_id,
                &done.inserted,
                rejected,
                done.duplicates,
            );
            tenant
                .record_crossings(&sender.app_id, &done.inserted, state.leases.grace_ms)
                .await;
        }
        Err(error) => {
            tracing::error!(%error, app = %charged.app_id, "gateway usage not stored");
        }
    }
}
