//! The lease an ingested event names must be one of its sender's app's leases: an event
//! spends its lease's slices, so naming another app's lease would spend that app's budgets.

use switchyard::sdk_protocol::RejectedEvent;

use super::validate::CheckedEvent;
use crate::store::{Result, TenantStore};

/// One event, checked or refused.
pub type Checked = std::result::Result<CheckedEvent, RejectedEvent>;

/// Refuses the events whose lease is not one of `app_id`'s (one query for the batch; none
/// when no event names a lease).
pub async fn refuse_foreign_leases(
    tenant: &TenantStore<'_>,
    app_id: &str,
    mut checked: Vec<Checked>,
) -> Result<Vec<Checked>> {
    let mut named: Vec<String> = checked
        .iter()
        .filter_map(|r| r.as_ref().ok().and_then(|e| e.lease.clone()))
        .collect();
    if named.is_empty() {
        return Ok(checked);
    }
    named.sort();
    named.dedup();
    let known = tenant.app_leases(app_id, &named).await?;
    for (index, slot) in checked.iter_mut().enumerate() {
        if let Ok(event) = slot
            && event.lease.as_ref().is_some_and(|l| !known.contains(l))
        {
            *slot = Err(RejectedEvent {
                index,
                id: Some(event.id.clone()),
                field: Some("lease".into()),
                reason: "names no lease of this app".into(),
            });
        }
    }
    Ok(checked)
}
