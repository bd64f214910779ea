//! `/api/v1/departments`: the tenant's nested departments.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{Id, Json, Query, nullable, present};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{Department, DepartmentPatch};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    #[schema(schema_with = crate::schema_rules::name)]
    name: String,
    #[serde(default)]
    parent_id: Option<String>,
}

/// Only the fields present change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDepartment {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema_rules::name)]
    name: Option<String>,
    /// Moves the department (with everything below it); `null`: top level. A move under
    /// itself or a descendant is refused (422).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    parent_id: Option<Option<String>>,
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "departments", params(super::PageQuery), responses((status = 200, body = super::List<Department>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<Department>>, ApiError> {
    p.may_somewhere(Permission::DepartmentRead)?;
    let page = q.page()?;
    let tenant = state.store.tenant(&p.tenant_id);
    let mut items = tenant.list_departments(page).await?;
    if let Some(scope) = p.department_scope(Permission::DepartmentRead) {
        let mut visible = Vec::new();
        for d in items {
            let lineage = tenant.department_lineage(&d.id).await?;
            if scope.iter().any(|s| lineage.contains(s)) {
                visible.push(d);
            }
        }
        items = visible;
    }
    Ok(List::new(items, page))
}

#[utoipa::path(post, path = "/api/v1/departments", tag = "departments", request_body = NewDepartment, responses((status = 201, body = Department), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<NewDepartment>,
) -> Result<(StatusCode, axum::Json<Department>), ApiError> {
    let role = p.authorize(Permission::DepartmentWrite)?;
    let dept = state
        .store
        .tenant(&p.tenant_id)
        .create_department(&p.audit(role), &req.name, req.parent_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(dept)))
}

#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "departments", params(("id" = String, Path, description = "id")), responses((status = 200, body = Department), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Department>, ApiError> {
    p.may_somewhere(Permission::DepartmentRead)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let dept = tenant.get_department(&id).await?;
    p.authorize_in(&tenant, Permission::DepartmentRead, &dept.id)
        .await?;
    Ok(axum::Json(dept))
}

#[utoipa::path(patch, path = "/api/v1/departments/{id}", tag = "departments", params(("id" = String, Path, description = "id")), request_body = PatchDepartment, responses((status = 200, body = Department), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(req): Json<PatchDepartment>,
) -> Result<axum::Json<Department>, ApiError> {
    let role = p.authorize(Permission::DepartmentWrite)?;
    let dept = state
        .store
        .tenant(&p.tenant_id)
        .update_department(
            &p.audit(role),
            &id,
            DepartmentPatch {
                name: req.name,
                parent_id: req.parent_id,
            },
        )
        .await?;
    Ok(axum::Json(dept))
}
