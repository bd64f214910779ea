//! A rollout's share reaching SDKs: the active config version with the model's `rollout`
//! split set, stored as a new version labelled with the reason, and activated (both
//! audited). SDKs long-polling the config follow it at once.

use serde_json::{Value, json};

use crate::state::AppState;
use crate::store::{AuditCtx, ConfigVersion, Result, StoreError, check_document};

/// What the split should be: the model, the two version labels, the candidate's percent.
pub struct Split<'a> {
    pub model: &'a str,
    pub baseline: &'a str,
    pub candidate: &'a str,
    pub sticky_by: switchyard::config::StickyKey,
    pub percent: f64,
}

/// The active document of the tenant with `split` applied, validated by core.
pub async fn document_with(state: &AppState, tenant_id: &str, split: &Split<'_>) -> Result<Value> {
    let tenant = state.store.tenant(tenant_id);
    let active = tenant
        .active()
        .await?
        .ok_or_else(|| StoreError::invalid("model", "the tenant has no active config version"))?;
    let mut document = tenant.get_version(&active.version_id).await?.document;
    let Some(model) = document
        .get_mut("models")
        .and_then(|m| m.get_mut(split.model))
        .and_then(Value::as_object_mut)
    else {
        return Err(StoreError::invalid(
            "model",
            format!("no model '{}' in the active config", split.model),
        ));
    };
    let percent = split.percent.clamp(0.0, 100.0);
    model.insert(
        "rollout".into(),
        json!({
            "sticky_by": split.sticky_by,
            "split": {split.baseline: 100.0 - percent, split.candidate: percent},
        }),
    );
    check_document(&document).map_err(|e| match e {
        StoreError::Invalid { field, message } => StoreError::Invalid {
            field: "model".into(),
            message: format!("{field}: {message}"),
        },
        other => other,
    })?;
    Ok(document)
}

/// Stores `document` as a version labelled `reason` and activates it.
pub async fn activate(
    state: &AppState,
    ctx: &AuditCtx,
    tenant_id: &str,
    document: &Value,
    reason: &str,
) -> Result<ConfigVersion> {
    let tenant = state.store.tenant(tenant_id);
    let version = tenant.create_version(ctx, document, Some(reason)).await?;
    let (_, version) = tenant.activate(ctx, &version.id).await?;
    state.config_changed(tenant_id);
    Ok(version)
}
