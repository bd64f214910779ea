//! `/api/v1/alerts…` and `/api/v1/alert-channels`: alert rules, their states, the
//! delivery log, and the channels notifications go to (`docs/alerts.md`). Rules are
//! created and deleted under their category's path, each with its own permission:
//! health (model_ops), cost (resource_manager), security (security_engineer).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{Id, Json, Query};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::alerts::{Category, new_rule};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{AlertChannel, AlertDelivery, AlertRule, AlertState, ChannelInput, StoreError};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRule {
    #[schema(schema_with = crate::schema_rules::name)]
    name: String,
    /// Health: `error_rate`, `p95_latency`, `deployment_failing`, `rollout_rolled_back`;
    /// cost: `budget_percent`, `spend_anomaly`; security: `auth_failures`, `policy_violations`.
    kind: String,
    /// The kind's parameters (`docs/alerts.md`).
    #[schema(value_type = Object)]
    params: serde_json::Value,
    /// The channels notified (at least one).
    #[schema(min_items = 1)]
    channel_ids: Vec<String>,
    /// What the rule does when a subject starts firing: `{"type": "disable_deployment"}`,
    /// `{"type": "drain_canary", "model", "baseline"}` (health rules) or
    /// `{"type": "tighten_limit", "limit_id", "factor"}` (cost rules).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    action: Option<serde_json::Value>,
    /// How long the condition must hold before the rule fires (default 0).
    #[serde(default)]
    for_ms: Option<i64>,
    /// How often a rule still firing is notified again (default an hour).
    #[serde(default)]
    renotify_ms: Option<i64>,
}

/// The permission that manages rules of `category`.
fn write_permission(category: Category) -> Permission {
    match category {
        Category::Health => Permission::AlertHealthWrite,
        Category::Cost => Permission::AlertCostWrite,
        Category::Security => Permission::AlertSecurityWrite,
    }
}

#[utoipa::path(get, path = "/api/v1/alert-channels", tag = "alerts", params(super::PageQuery), responses((status = 200, body = super::List<AlertChannel>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list_channels(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<AlertChannel>>, ApiError> {
    p.authorize(Permission::AlertRead)?;
    let page = q.page()?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_alert_channels(page)
            .await?,
        page,
    ))
}

#[utoipa::path(post, path = "/api/v1/alert-channels", tag = "alerts", request_body = ChannelInput, responses((status = 201, body = AlertChannel), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create_channel(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<ChannelInput>,
) -> Result<(StatusCode, axum::Json<AlertChannel>), ApiError> {
    let role = p.authorize(Permission::AlertChannelWrite)?;
    let channel = state
        .store
        .tenant(&p.tenant_id)
        .create_alert_channel(&p.audit(role), state.master_key.as_deref(), req)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(channel)))
}

#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts", params(super::PageQuery), responses((status = 200, body = super::List<AlertRule>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list_rules(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<AlertRule>>, ApiError> {
    p.authorize(Permission::AlertRead)?;
    let page = q.page()?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_alert_rules(page)
            .await?,
        page,
    ))
}

/// Stores a rule of `category` (its route's), after checking its kind belongs there.
async fn create_rule(
    state: AppState,
    p: Principal,
    category: Category,
    req: CreateRule,
) -> Result<(StatusCode, axum::Json<AlertRule>), ApiError> {
    let role = p.authorize(write_permission(category))?;
    let rule = new_rule(
        &req.name,
        &req.kind,
        req.params,
        req.channel_ids,
        req.action,
        req.for_ms,
        req.renotify_ms,
    )?;
    if crate::alerts::kind_of(&rule)?.category() != category {
        return Err(StoreError::invalid("kind", "belongs to another category of rules").into());
    }
    let rule = state
        .store
        .tenant(&p.tenant_id)
        .create_alert_rule(&p.audit(role), rule)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(rule)))
}

/// Deletes rule `id` if it is of `category`; otherwise it is not found here.
async fn delete_rule(
    state: AppState,
    p: Principal,
    category: Category,
    id: String,
) -> Result<StatusCode, ApiError> {
    let role = p.authorize(write_permission(category))?;
    let tenant = state.store.tenant(&p.tenant_id);
    let rule = tenant.alert_rule(&id).await?;
    if crate::alerts::kind_of(&rule)?.category() != category {
        return Err(ApiError::NotFound);
    }
    tenant.delete_alert_rule(&p.audit(role), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The create and delete handlers of one category's routes.
macro_rules! category_routes {
    ($create:ident, $delete:ident, $category:expr, $path:literal) => {
        #[utoipa::path(post, path = concat!("/api/v1/alerts/", $path, "/rules"), tag = "alerts", request_body = CreateRule, responses((status = 201, body = AlertRule), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
        pub async fn $create(
            State(state): State<AppState>,
            p: Principal,
            Json(req): Json<CreateRule>,
        ) -> Result<(StatusCode, axum::Json<AlertRule>), ApiError> {
            create_rule(state, p, $category, req).await
        }

        #[utoipa::path(delete, path = concat!("/api/v1/alerts/", $path, "/rules/{id}"), tag = "alerts", params(("id" = String, Path, description = "id")), responses((status = 204, description = "deleted"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
        pub async fn $delete(
            State(state): State<AppState>,
            p: Principal,
            Id(id): Id,
        ) -> Result<StatusCode, ApiError> {
            delete_rule(state, p, $category, id).await
        }
    };
}

category_routes!(create_health, delete_health, Category::Health, "health");
category_routes!(create_cost, delete_cost, Category::Cost, "cost");
category_routes!(
    create_security,
    delete_security,
    Category::Security,
    "security"
);

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", responses((status = 200, body = Vec<AlertState>, description = "every rule's state per subject"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn states(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<Vec<AlertState>>, ApiError> {
    p.authorize(Permission::AlertRead)?;
    Ok(axum::Json(
        state.store.tenant(&p.tenant_id).alert_states(None).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/alerts/deliveries", tag = "alerts", params(super::PageQuery), responses((status = 200, body = super::List<AlertDelivery>, description = "every delivery attempt, oldest first"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<AlertDelivery>>, ApiError> {
    p.authorize(Permission::AlertRead)?;
    let page = q.page()?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_alert_deliveries(page)
            .await?,
        page,
    ))
}
