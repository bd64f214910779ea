//! `/api/v1/apps`: business modules, scoped by department.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::List;
use super::extract::{Json, Query, int_param};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{App, NewApp, Page, SecretsMode};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    department_id: String,
    name: String,
    #[serde(default)]
    allowed_models: Option<Vec<String>>,
    #[serde(default)]
    secrets_mode: SecretsMode,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppQuery {
    #[serde(default, deserialize_with = "int_param")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "int_param")]
    offset: Option<i64>,
    /// Only this department's apps.
    #[serde(default)]
    department_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/apps", tag = "apps", params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query), ("department_id" = Option<String>, Query)), responses((status = 200, body = super::List<App>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AppQuery>,
) -> Result<axum::Json<List<App>>, ApiError> {
    p.may_somewhere(Permission::AppRead)?;
    let page = Page::new(q.limit, q.offset)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let mut items = tenant.list_apps(q.department_id.as_deref(), page).await?;
    if let Some(scope) = p.department_scope(Permission::AppRead) {
        let mut visible = Vec::new();
        for app in items {
            let lineage = tenant.department_lineage(&app.department_id).await?;
            if scope.iter().any(|s| lineage.contains(s)) {
                visible.push(app);
            }
        }
        items = visible;
    }
    Ok(List::new(items, page))
}

#[utoipa::path(post, path = "/api/v1/apps", tag = "apps", request_body = CreateApp, responses((status = 201, body = App), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateApp>,
) -> Result<(StatusCode, axum::Json<App>), ApiError> {
    p.may_somewhere(Permission::AppWrite)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let role = match p
        .authorize_in(&tenant, Permission::AppWrite, &req.department_id)
        .await
    {
        Err(ApiError::NotFound) => {
            return Err(ApiError::Invalid {
                field: Some("department_id".into()),
                message: "no such department".into(),
            });
        }
        other => other?,
    };
    let app = tenant
        .create_app(
            &p.audit(role),
            NewApp {
                department_id: req.department_id,
                name: req.name,
                allowed_models: req.allowed_models,
                secrets_mode: req.secrets_mode,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(app)))
}

#[utoipa::path(get, path = "/api/v1/apps/{id}", tag = "apps", params(("id" = String, Path, description = "id")), responses((status = 200, body = App), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<App>, ApiError> {
    p.may_somewhere(Permission::AppRead)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let app = tenant.get_app(&id).await?;
    p.authorize_in(&tenant, Permission::AppRead, &app.department_id)
        .await?;
    Ok(axum::Json(app))
}

#[utoipa::path(delete, path = "/api/v1/apps/{id}", tag = "apps", params(("id" = String, Path, description = "id")), responses((status = 204), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    p.may_somewhere(Permission::AppWrite)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let app = tenant.get_app(&id).await?;
    let role = p
        .authorize_in(&tenant, Permission::AppWrite, &app.department_id)
        .await?;
    tenant.delete_app(&p.audit(role), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
