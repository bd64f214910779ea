//! `/api/v1/apps`: business modules, scoped by department.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::List;
use super::extract::{Id, Json, Query, int_param, nullable, present};
use super::principal::Principal;
use crate::error::ApiError;
use crate::rbac::{Permission, Role};
use crate::state::AppState;
use crate::store::{App, AppPatch, NewApp, Page, SecretsMode, TenantStore};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    department_id: String,
    #[schema(schema_with = crate::schema_rules::name)]
    name: String,
    #[serde(default)]
    allowed_models: Option<Vec<String>>,
    #[serde(default)]
    secrets_mode: SecretsMode,
}

/// Only the fields present change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchApp {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema_rules::name)]
    name: Option<String>,
    /// Moves the app, with its keys, to another department.
    #[serde(default, deserialize_with = "present")]
    department_id: Option<String>,
    /// `null`: every model.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    allowed_models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    secrets_mode: Option<SecretsMode>,
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

#[utoipa::path(get, path = "/api/v1/apps", tag = "apps", params(super::PageQuery, ("department_id" = Option<String>, Query)), responses((status = 200, body = super::List<App>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
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
    let role = writable_department(&p, &tenant, &req.department_id).await?;
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

/// The app `id`, when `p` holds `permission` where it lives, and the role that grants it.
/// An app outside the caller's reach is 404, as one of another tenant.
pub(super) async fn app_within_reach(
    p: &Principal,
    tenant: &TenantStore<'_>,
    id: &str,
    permission: Permission,
) -> Result<(App, Role), ApiError> {
    p.may_somewhere(permission)?;
    let app = tenant.get_app(id).await?;
    let role = p
        .authorize_in(tenant, permission, &app.department_id)
        .await?;
    Ok((app, role))
}

/// The role under which `p` may put an app into `department_id`. A department the caller
/// cannot see is refused as if it did not exist: 422 naming `department_id`.
async fn writable_department(
    p: &Principal,
    tenant: &TenantStore<'_>,
    department_id: &str,
) -> Result<Role, ApiError> {
    match p
        .authorize_in(tenant, Permission::AppWrite, department_id)
        .await
    {
        Err(ApiError::NotFound) => Err(ApiError::Invalid {
            field: Some("department_id".into()),
            message: "no such department".into(),
        }),
        other => other,
    }
}

#[utoipa::path(get, path = "/api/v1/apps/{id}", tag = "apps", params(("id" = String, Path, description = "id")), responses((status = 200, body = App), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<App>, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (app, _) = app_within_reach(&p, &tenant, &id, Permission::AppRead).await?;
    Ok(axum::Json(app))
}

#[utoipa::path(delete, path = "/api/v1/apps/{id}", tag = "apps", params(("id" = String, Path, description = "id")), responses((status = 204), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (_, role) = app_within_reach(&p, &tenant, &id, Permission::AppWrite).await?;
    tenant.delete_app(&p.audit(role), &id).await?;
    state.keys.forget_app(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// Renames an app, moves it to another department (the caller needs `app.write` in both),
/// or changes what its SDK receives; SDK clients see the change on their next fetch.
#[utoipa::path(patch, path = "/api/v1/apps/{id}", tag = "apps", params(("id" = String, Path, description = "id")), request_body = PatchApp, responses((status = 200, body = App), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(req): Json<PatchApp>,
) -> Result<axum::Json<App>, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (app, role) = app_within_reach(&p, &tenant, &id, Permission::AppWrite).await?;
    if let Some(target) = req
        .department_id
        .as_deref()
        .filter(|d| *d != app.department_id)
    {
        writable_department(&p, &tenant, target).await?;
    }
    let app = tenant
        .update_app(
            &p.audit(role),
            &id,
            AppPatch {
                name: req.name,
                department_id: req.department_id,
                allowed_models: req.allowed_models,
                secrets_mode: req.secrets_mode,
            },
        )
        .await?;
    state.config_changed(&p.tenant_id);
    Ok(axum::Json(app))
}
