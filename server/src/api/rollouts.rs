//! `/api/v1/rollouts`: start a rollout, watch it, pause, resume, promote or abort it by
//! hand, and its A/B report (`docs/rollouts.md`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::extract::{Id, Json, Query};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::rollout::job::arms_since;
use crate::rollout::stats::{ArmStats, Significance, error_rate_test, latency_test};
use crate::state::AppState;
use crate::store::{ArmMinute, NewRollout, Rollout};

/// Per-arm figures since the rollout began, and the tests on their differences.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AbReport {
    pub rollout: String,
    pub model: String,
    pub since: i64,
    pub baseline: ArmStats,
    pub candidate: ArmStats,
    /// Two-proportion z-test, candidate minus baseline; null without calls on both arms.
    pub error_rate_test: Option<Significance>,
    /// Mann-Whitney U (normal approximation, tie-corrected), z > 0 when the candidate is
    /// slower; null without calls on both arms.
    pub latency_test: Option<Significance>,
    /// Per minute and arm, from the per-arm rollups (kept after the raw events are pruned).
    pub series: Vec<ArmMinute>,
}

#[utoipa::path(get, path = "/api/v1/rollouts", tag = "rollouts", params(super::PageQuery), responses((status = 200, body = super::List<Rollout>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<Rollout>>, ApiError> {
    p.authorize(Permission::ConfigRead)?;
    let page = q.page()?;
    Ok(List::new(
        state.store.tenant(&p.tenant_id).list_rollouts(page).await?,
        page,
    ))
}

#[utoipa::path(post, path = "/api/v1/rollouts", tag = "rollouts", request_body = NewRollout, responses((status = 201, body = Rollout), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<NewRollout>,
) -> Result<(StatusCode, axum::Json<Rollout>), ApiError> {
    let role = p.authorize(Permission::ConfigActivate)?;
    let rollout = crate::rollout::start(&state, &p.audit(role), &p.tenant_id, &req).await?;
    Ok((StatusCode::CREATED, axum::Json(rollout)))
}

#[utoipa::path(get, path = "/api/v1/rollouts/{id}", tag = "rollouts", params(("id" = String, Path, description = "id")), responses((status = 200, body = Rollout), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Rollout>, ApiError> {
    p.authorize(Permission::ConfigRead)?;
    Ok(axum::Json(
        state.store.tenant(&p.tenant_id).get_rollout(&id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/rollouts/{id}/report", tag = "rollouts", params(("id" = String, Path, description = "id")), responses((status = 200, body = AbReport), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<AbReport>, ApiError> {
    p.authorize(Permission::ConfigRead)?;
    let rollout = state.store.tenant(&p.tenant_id).get_rollout(&id).await?;
    let (baseline, candidate) =
        arms_since(&state, &p.tenant_id, &rollout, rollout.created_at).await?;
    let series = state
        .store
        .tenant(&p.tenant_id)
        .arm_series(
            &rollout.model,
            [&rollout.baseline, &rollout.candidate],
            rollout.created_at,
        )
        .await?;
    Ok(axum::Json(AbReport {
        error_rate_test: error_rate_test(&baseline, &candidate),
        latency_test: latency_test(&baseline, &candidate),
        rollout: rollout.name,
        model: rollout.model,
        since: rollout.created_at,
        baseline,
        candidate,
        series,
    }))
}

/// A manual move: the rollout as it is after. Pausing a paused rollout (resuming a
/// running one) changes nothing and answers it as it is.
async fn act(
    state: &AppState,
    p: &Principal,
    id: &str,
    action: &str,
) -> Result<axum::Json<Rollout>, ApiError> {
    let role = p.authorize(Permission::ConfigActivate)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let rollout = tenant.get_rollout(id).await?;
    let Some(mut to) = crate::rollout::manual(&rollout, action, &p.username)? else {
        return Ok(axum::Json(rollout));
    };
    if to.state == "rolled_back" {
        let (baseline, candidate) =
            arms_since(state, &p.tenant_id, &rollout, rollout.step_started_at).await?;
        to.evidence = crate::rollout::guard::evidence(&rollout, &baseline, &candidate);
    }
    let moved = crate::rollout::move_to(state, &p.audit(role), &p.tenant_id, &rollout, to).await?;
    Ok(axum::Json(moved))
}

#[utoipa::path(post, path = "/api/v1/rollouts/{id}/pause", tag = "rollouts", params(("id" = String, Path, description = "id")), responses((status = 200, body = Rollout), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Rollout>, ApiError> {
    act(&state, &p, &id, "pause").await
}

#[utoipa::path(post, path = "/api/v1/rollouts/{id}/resume", tag = "rollouts", params(("id" = String, Path, description = "id")), responses((status = 200, body = Rollout), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Rollout>, ApiError> {
    act(&state, &p, &id, "resume").await
}

#[utoipa::path(post, path = "/api/v1/rollouts/{id}/promote", tag = "rollouts", params(("id" = String, Path, description = "id")), responses((status = 200, body = Rollout), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn promote(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Rollout>, ApiError> {
    act(&state, &p, &id, "promote").await
}

#[utoipa::path(post, path = "/api/v1/rollouts/{id}/abort", tag = "rollouts", params(("id" = String, Path, description = "id")), responses((status = 200, body = Rollout), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn abort(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Rollout>, ApiError> {
    act(&state, &p, &id, "abort").await
}
