//! `/api/v1/providers`: upstream accounts. Credentials go in, only a masked hint comes out.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use switchyard::config::ProviderKind;

use super::extract::{Id, Json, Query};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{NewProvider, Provider};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    #[schema(schema_with = crate::schema_rules::name)]
    name: String,
    /// A provider kind of the config: `openai`, `azure`, `azure_ai`, `anthropic`, `gemini`,
    /// or a preset such as `groq` (see docs/providers.md).
    #[schema(value_type = String)]
    kind: ProviderKind,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    credential: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCredential {
    /// None clears it.
    credential: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/providers", tag = "providers", params(super::PageQuery), responses((status = 200, body = super::List<Provider>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<Provider>>, ApiError> {
    p.authorize(Permission::ProviderRead)?;
    let page = q.page()?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_providers(page)
            .await?,
        page,
    ))
}

#[utoipa::path(post, path = "/api/v1/providers", tag = "providers", request_body = CreateProvider, responses((status = 201, body = Provider), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateProvider>,
) -> Result<(StatusCode, axum::Json<Provider>), ApiError> {
    let role = p.authorize(Permission::ProviderWrite)?;
    let provider = state
        .store
        .tenant(&p.tenant_id)
        .create_provider(
            &p.audit(role),
            state.master_key.as_deref(),
            NewProvider {
                name: req.name,
                kind: req.kind.config_name(),
                base_url: req.base_url,
                credential: req.credential,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(provider)))
}

#[utoipa::path(get, path = "/api/v1/providers/{id}", tag = "providers", params(("id" = String, Path, description = "id")), responses((status = 200, body = Provider), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Provider>, ApiError> {
    p.authorize(Permission::ProviderRead)?;
    Ok(axum::Json(
        state.store.tenant(&p.tenant_id).get_provider(&id).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/providers/{id}/credential", tag = "providers", params(("id" = String, Path, description = "id")), request_body = SetCredential, responses((status = 200, body = Provider), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn set_credential(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
    Json(req): Json<SetCredential>,
) -> Result<axum::Json<Provider>, ApiError> {
    let role = p.authorize(Permission::ProviderWrite)?;
    let provider = state
        .store
        .tenant(&p.tenant_id)
        .set_provider_credential(
            &p.audit(role),
            state.master_key.as_deref(),
            &id,
            req.credential.as_deref(),
        )
        .await?;
    state.config_changed(&p.tenant_id);
    Ok(axum::Json(provider))
}

#[utoipa::path(delete, path = "/api/v1/providers/{id}", tag = "providers", params(("id" = String, Path, description = "id")), responses((status = 204), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let role = p.authorize(Permission::ProviderWrite)?;
    state
        .store
        .tenant(&p.tenant_id)
        .delete_provider(&p.audit(role), &id)
        .await?;
    state.config_changed(&p.tenant_id);
    Ok(StatusCode::NO_CONTENT)
}
