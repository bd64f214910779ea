//! What of a batch's content is kept: content of an app whose policy does not log that
//! model's calls (or, under `errors`, a call that succeeded) is dropped, content over the
//! policy's size is refused, content that is not the contract's shape is refused; the
//! usage event itself is kept in every case. What is kept is sealed here, before the
//! ingest transaction, so the writer lock is not held over the crypto.

use std::collections::HashMap;

use super::content::LoggedContent;
use super::policy::CallLogPolicy;
use super::sealing::seal;
use crate::crypto::MasterKey;
use crate::state::AppState;
use crate::store::{StoreError, TenantStore};
use crate::usage::validate::{CheckedEvent, Sender};

/// A call's content ready to store beside its usage event.
#[derive(Debug, Clone)]
pub struct NewCallLog {
    pub sealed: String,
    pub content_bytes: i64,
    pub original_bytes: i64,
    pub redacted: bool,
    pub truncated: bool,
    pub expires_at: i64,
}

/// What became of a batch's content, for the metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IntakeCounts {
    /// Kept (stored unless the event was a replay).
    pub kept: u64,
    /// The policy does not log these calls.
    pub not_logged: u64,
    /// Over the policy's size.
    pub too_large: u64,
    /// Not the contract's shape, or no master key to seal it with.
    pub unusable: u64,
}

/// Sorts `contents` (raw JSON by event id) for the `events` of one app of `tenant_id`.
pub fn admit(
    policy: &CallLogPolicy,
    key: Option<&MasterKey>,
    tenant_id: &str,
    events: &[CheckedEvent],
    mut contents: HashMap<String, String>,
) -> (HashMap<String, NewCallLog>, IntakeCounts) {
    let mut counts = IntakeCounts::default();
    let mut kept = HashMap::new();
    if contents.is_empty() {
        return (kept, counts);
    }
    for event in events {
        let Some(json) = contents.remove(&event.id) else {
            continue;
        };
        if !policy.admits(&event.model, event.error_code.is_some()) {
            counts.not_logged += 1;
            continue;
        }
        if json.len() as u64 > policy.accepted_bytes() {
            counts.too_large += 1;
            tracing::debug!(id = %event.id, bytes = json.len(), "call-log content over the app's max_bytes: refused");
            continue;
        }
        let Ok(content) = serde_json::from_str::<LoggedContent>(&json) else {
            counts.unusable += 1;
            tracing::warn!(id = %event.id, "call-log content is not the contract's shape: refused");
            continue;
        };
        let Some(key) = key else {
            counts.unusable += 1;
            tracing::warn!(id = %event.id, "call-log content dropped: the server has no master key");
            continue;
        };
        match seal(key, tenant_id, &event.id, &json) {
            Ok(sealed) => {
                counts.kept += 1;
                kept.insert(
                    event.id.clone(),
                    NewCallLog {
                        sealed,
                        content_bytes: json.len() as i64,
                        original_bytes: i64::try_from(content.original_bytes).unwrap_or(i64::MAX),
                        redacted: content.redacted,
                        truncated: content.truncated,
                        expires_at: event
                            .time_ms
                            .saturating_add(i64::from(policy.retention_days) * 86_400_000),
                    },
                );
            }
            Err(error) => {
                counts.unusable += 1;
                tracing::error!(%error, "call-log content cannot be sealed");
            }
        }
    }
    // Content of an event refused by validation has no event left to go with.
    counts.unusable += contents.len() as u64;
    (kept, counts)
}

/// The content of one app's batch to store beside its usage: [`admit`] under the app's
/// policy, counted in the metrics. Both ingestion paths (SDK batches and the gateway's own
/// calls) go through here.
pub async fn for_batch(
    state: &AppState,
    tenant: &TenantStore<'_>,
    sender: &Sender,
    events: &[CheckedEvent],
    contents: HashMap<String, String>,
) -> Result<HashMap<String, NewCallLog>, StoreError> {
    if contents.is_empty() {
        return Ok(HashMap::new());
    }
    let policy = tenant.call_log_policy(&sender.app_id).await?;
    let (kept, counts) = admit(
        &policy,
        state.master_key.as_deref(),
        &sender.tenant_id,
        events,
        contents,
    );
    state.metrics.call_logs_ingested(counts);
    Ok(kept)
}
