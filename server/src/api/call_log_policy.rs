//! `GET`/`PUT /api/v1/apps/{id}/call-logs`: an app's call-log policy (`docs/call-logs.md`),
//! `call_log.configure` where the app lives. A change is audited with its before and after,
//! and wakes the app's long-polling SDKs on this replica (others pick it up on their next
//! poll): the served config's `call_logs` and ETag change with it.

use axum::extract::State;

use super::apps::app_within_reach;
use super::extract::{Id, Json};
use super::principal::Principal;
use crate::call_logs::policy::CallLogPolicy;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/apps/{id}/call-logs", tag = "call-logs", params(("id" = String, Path, description = "app id")), responses((status = 200, body = CallLogPolicy), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_policy(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<CallLogPolicy>, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    app_within_reach(&p, &tenant, &id, Permission::CallLogConfigure).await?;
    Ok(axum::Json(tenant.call_log_policy(&id).await?))
}

#[utoipa::path(put, path = "/api/v1/apps/{id}/call-logs", tag = "call-logs", params(("id" = String, Path, description = "app id")), request_body = CallLogPolicy, responses((status = 200, body = CallLogPolicy), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn set_policy(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(policy): Json<CallLogPolicy>,
) -> Result<axum::Json<CallLogPolicy>, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (_, role) = app_within_reach(&p, &tenant, &id, Permission::CallLogConfigure).await?;
    let policy = tenant
        .set_call_log_policy(&p.audit(role), &id, &policy)
        .await?;
    state.config_changed(&p.tenant_id);
    Ok(axum::Json(policy))
}
