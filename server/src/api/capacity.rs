//! `GET /api/v1/health/deployments` and `GET /api/v1/capacity/report`: health per
//! deployment from usage, and the forecast and replica recommendations
//! (`docs/capacity.md`). Reading the report also refreshes the replica gauge.

use axum::extract::State;

use super::principal::Principal;
use crate::capacity::health::DeploymentHealth;
use crate::capacity::report::CapacityRow;
use crate::capacity::tenant_report;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/health/deployments", tag = "capacity", responses((status = 200, body = Vec<DeploymentHealth>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn health(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Vec<DeploymentHealth>>, ApiError> {
    p.authorize(Permission::HealthRead)?;
    Ok(axum::Json(tenant_report(&state, &p.tenant_id).await?.0))
}

#[utoipa::path(get, path = "/api/v1/capacity/report", tag = "capacity", responses((status = 200, body = Vec<CapacityRow>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Vec<CapacityRow>>, ApiError> {
    p.authorize(Permission::HealthRead)?;
    Ok(axum::Json(tenant_report(&state, &p.tenant_id).await?.1))
}
