//! `POST /sdk/v1/leases` and `POST /sdk/v1/leases/{id}/return`: an SDK instance's slices
//! of the server-side budgets and rate limits of its app, authenticated by the app key
//! (the semantics are in `docs/budgets.md`, the storage in `store::leases`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use switchyard::sdk_protocol::{
    LEASE_RETURN_PATH, LEASES_PATH, LeaseGrant, LeaseRequest, LeaseReturn, SliceUse,
};

use super::extract::{Id, Json};
use super::principal::AppCaller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{LeaseAsk, MAX_AMOUNT_USD};

/// The longest instance id accepted.
const MAX_INSTANCE_CHARS: usize = 200;

/// Amounts by slice id, each finite, not negative, not absurd: 422 naming the field. A
/// budget's USD becomes micro-dollars; a limit's requests a minute stay as they are (the
/// server tells them apart by id).
fn amounts(field: &str, items: &[SliceUse], usd: bool) -> Result<HashMap<String, i64>, ApiError> {
    let mut out = HashMap::with_capacity(items.len());
    for (i, u) in items.iter().enumerate() {
        if !u.amount.is_finite() || u.amount < 0.0 || u.amount > MAX_AMOUNT_USD {
            return Err(ApiError::Invalid {
                field: Some(format!("{field}[{i}].amount")),
                message: format!("must be a number between 0 and {MAX_AMOUNT_USD}"),
            });
        }
        let v = if usd && u.id.starts_with("bud_") {
            (u.amount * 1e6).round() as i64
        } else {
            u.amount.round() as i64
        };
        out.insert(u.id.clone(), v);
    }
    Ok(out)
}

/// A lease request checked and in the store's units: an instance id of printable
/// characters, amounts finite and in range (422 naming the field otherwise).
pub(crate) fn ask_of(req: LeaseRequest) -> Result<LeaseAsk, ApiError> {
    if req.instance.trim().is_empty()
        || req.instance.chars().count() > MAX_INSTANCE_CHARS
        || req.instance.chars().any(char::is_control)
    {
        return Err(ApiError::Invalid {
            field: Some("instance".into()),
            message: format!("must be 1 to {MAX_INSTANCE_CHARS} printable characters"),
        });
    }
    Ok(LeaseAsk {
        instance: req.instance,
        lease: req.lease,
        used: amounts("used", &req.used, true)?,
        want: amounts("want", &req.want, true)?,
    })
}

#[utoipa::path(post, path = LEASES_PATH, tag = "sdk", request_body(content = Object, description = "LeaseRequest: {instance, lease?, used: [{id, amount}], want: [{id, amount}]}"), responses((status = 200, body = Object, description = "LeaseGrant: {lease, expires_at_ms, refresh_in_ms, budgets, limits}"), (status = 404, body = crate::error::ErrorBody, description = "unknown lease, or another app's"), (status = 410, body = crate::error::ErrorBody, description = "the lease expired: request a new one"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn lease(
    State(state): State<AppState>,
    caller: AppCaller,
    Json(req): Json<LeaseRequest>,
) -> Result<axum::Json<LeaseGrant>, ApiError> {
    let ask = ask_of(req)?;
    let grant = state
        .store
        .tenant(&caller.key.tenant_id)
        .lease(&caller.key.app_id, &ask, state.leases)
        .await?;
    Ok(axum::Json(grant))
}

#[utoipa::path(post, path = LEASE_RETURN_PATH, tag = "sdk", params(("id" = String, Path, description = "the lease")), request_body(content = Object, description = "LeaseReturn: {used: [{id, amount}]}"), responses((status = 204, description = "returned"), (status = 404, body = crate::error::ErrorBody), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn return_lease(
    State(state): State<AppState>,
    caller: AppCaller,
    Id(id): Id,
    Json(req): Json<LeaseReturn>,
) -> Result<StatusCode, ApiError> {
    amounts("used", &req.used, true)?;
    state
        .store
        .tenant(&caller.key.tenant_id)
        .return_lease(&caller.key.app_id, &id, &req.used, state.leases)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
