//! `GET /api/v1/events`: what the server noticed, newest first (a budget crossed: see
//! `store::server_events`). Readable with `budget.read`, since budgets raise them.

use axum::extract::State;

use super::extract::Query;
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::ServerEvent;

#[utoipa::path(get, path = "/api/v1/events", tag = "budgets", params(super::PageQuery), responses((status = 200, body = super::List<ServerEvent>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<ServerEvent>>, ApiError> {
    p.authorize(Permission::BudgetRead)?;
    let page = q.page()?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_server_events(page)
            .await?,
        page,
    ))
}
