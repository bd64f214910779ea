//! `/api/v1/configs`: immutable config versions in core's schema; activate, roll back;
//! and `/api/v1/models`, the catalogue as the active version defines it.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::{Id, Json, Query};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::config_text::{self, TextIssue};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{ActiveConfig, ConfigVersion, ConfigVersionSummary, Page, StoreError};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVersion {
    /// A config document in core's schema (or `yaml`: one of the two).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) document: Option<Value>,
    /// The document as YAML text; its issues come back with their lines (`issues`).
    #[serde(default)]
    pub(crate) yaml: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

impl CreateVersion {
    /// The document, parsed and checked first when it came as text so a refusal names
    /// each issue's line.
    pub(crate) fn document(&self) -> Result<Value, ApiError> {
        match (&self.document, &self.yaml) {
            (Some(d), None) => Ok(d.clone()),
            (None, Some(text)) => config_text::check(text).map_err(ApiError::InvalidText),
            _ => Err(ApiError::bad(
                "document",
                "send exactly one of document and yaml",
            )),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateText {
    /// A config document as YAML text.
    pub(crate) yaml: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Validation {
    valid: bool,
    issues: Vec<TextIssue>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Activated {
    active: ActiveConfig,
    version: ConfigVersion,
}

/// Core names paths inside the document; the request field is `document.<path>`.
fn in_document(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid { field, message } => ApiError::Invalid {
            field: Some(if field.is_empty() {
                "document".into()
            } else {
                format!("document.{field}")
            }),
            message,
        },
        other => other.into(),
    }
}

#[utoipa::path(get, path = "/api/v1/configs", tag = "configs", params(super::PageQuery), responses((status = 200, body = super::List<ConfigVersionSummary>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<ConfigVersionSummary>>, ApiError> {
    p.authorize(Permission::ConfigRead)?;
    let page = q.page()?;
    Ok(List::new(
        state.store.tenant(&p.tenant_id).list_versions(page).await?,
        page,
    ))
}

#[utoipa::path(post, path = "/api/v1/configs", tag = "configs", request_body = CreateVersion, responses((status = 201, body = ConfigVersion), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<CreateVersion>,
) -> Result<(StatusCode, axum::Json<ConfigVersion>), ApiError> {
    let document = req.document()?;
    // Budgets and rate limits are resource_manager's, the rest model_ops': the sections a
    // version changes against the tenant's latest decide which permission it needs.
    let budget_write = p.authorize(Permission::BudgetWrite);
    let config_write = p.authorize(Permission::ConfigWrite);
    if budget_write.is_err() && config_write.is_err() {
        return Err(ApiError::Forbidden);
    }
    let tenant = state.store.tenant(&p.tenant_id);
    let latest = match tenant
        .list_versions(Page::new(Some(1), None)?)
        .await?
        .first()
    {
        Some(v) => tenant.get_version(&v.id).await?.document,
        None => Value::Object(Default::default()),
    };
    // Compared in the canonical form versions are stored in; a document core refuses is
    // refused below, by `create_version`, whichever permission it is judged by.
    let canonical = crate::store::check_document(&document)
        .ok()
        .and_then(|c| serde_json::to_value(&c).ok())
        .unwrap_or_else(|| document.clone());
    let (budgets, others) = changed_sections(&latest, &canonical);
    let role = match (budgets, others) {
        (true, true) => {
            budget_write?;
            config_write?
        }
        (true, false) => budget_write?,
        _ => config_write?,
    };
    let version = tenant
        .create_version(&p.audit(role), &document, req.label.as_deref())
        .await
        .map_err(in_document)?;
    Ok((StatusCode::CREATED, axum::Json(version)))
}

/// A dry run of `POST /api/v1/configs` with `yaml`: every issue at its line, nothing
/// stored or audited.
#[utoipa::path(post, path = "/api/v1/configs/validate", tag = "configs", request_body = ValidateText, responses((status = 200, body = Validation), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn validate(
    p: Principal,
    Json(req): Json<ValidateText>,
) -> Result<axum::Json<Validation>, ApiError> {
    p.authorize(Permission::ConfigWrite)?;
    let issues = config_text::check(&req.yaml).err().unwrap_or_default();
    Ok(axum::Json(Validation {
        valid: issues.is_empty(),
        issues,
    }))
}

/// Whether `after` changes the `budgets` or `rate_limits` sections of `before`, and
/// whether it changes anything else.
fn changed_sections(before: &Value, after: &Value) -> (bool, bool) {
    let diff = crate::diff::json_diff(before, after);
    let mut budgets = false;
    let mut others = false;
    for change in diff.as_array().into_iter().flatten() {
        let path = change["path"].as_str().unwrap_or("");
        let section = path.split(['.', '[']).next().unwrap_or("");
        if section == "budgets" || section == "rate_limits" {
            budgets = true;
        } else {
            others = true;
        }
    }
    (budgets, others)
}

#[utoipa::path(get, path = "/api/v1/configs/{id}", tag = "configs", params(("id" = String, Path, description = "version id or number")), responses((status = 200, body = ConfigVersion), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<ConfigVersion>, ApiError> {
    p.authorize(Permission::ConfigRead)?;
    Ok(axum::Json(
        state.store.tenant(&p.tenant_id).get_version(&id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/configs/active", tag = "configs", responses((status = 200, body = Activated), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn active(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Activated>, ApiError> {
    p.authorize(Permission::ConfigRead)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let active = tenant.active().await?.ok_or(ApiError::NotFound)?;
    let version = tenant.get_version(&active.version_id).await?;
    Ok(axum::Json(Activated { active, version }))
}

#[utoipa::path(post, path = "/api/v1/configs/{id}/activate", tag = "configs", params(("id" = String, Path, description = "version id or number")), responses((status = 200, body = Activated), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn activate(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<Activated>, ApiError> {
    let role = p.authorize(Permission::ConfigActivate)?;
    let (active, version) = state
        .store
        .tenant(&p.tenant_id)
        .activate(&p.audit(role), &id)
        .await
        .map_err(in_document)?;
    state.config_changed(&p.tenant_id);
    Ok(axum::Json(Activated { active, version }))
}

#[utoipa::path(post, path = "/api/v1/configs/rollback", tag = "configs", responses((status = 200, body = Activated), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn rollback(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Activated>, ApiError> {
    let role = p.authorize(Permission::ConfigActivate)?;
    let (active, version) = state
        .store
        .tenant(&p.tenant_id)
        .rollback(&p.audit(role))
        .await
        .map_err(in_document)?;
    state.config_changed(&p.tenant_id);
    Ok(axum::Json(Activated { active, version }))
}

/// The active version's models (type, deployments, strategy, policies), by alias.
#[utoipa::path(get, path = "/api/v1/models", tag = "configs", responses((status = 200, body = Object), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn models(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Value>, ApiError> {
    p.authorize(Permission::ConfigRead)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let Some(active) = tenant.active().await? else {
        return Ok(axum::Json(Value::Object(Default::default())));
    };
    let version = tenant.get_version(&active.version_id).await?;
    Ok(axum::Json(
        version
            .document
            .get("models")
            .cloned()
            .unwrap_or(Value::Object(Default::default())),
    ))
}
