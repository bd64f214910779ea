//! `/api/v1/audit` and `/api/v1/security-events`: security_engineer and infra_admin only.

use axum::extract::State;
use serde::Deserialize;

use super::extract::{Query, int_param};
use super::principal::Principal;
use super::{List, PageQuery};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{AuditFilter, AuditRecord, Page, SecurityEvent, TenantVerification};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default, deserialize_with = "int_param")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "int_param")]
    offset: Option<i64>,
    /// Only this action, e.g. `config.activate`.
    #[serde(default)]
    action: Option<String>,
    /// Only this actor, as recorded.
    #[serde(default)]
    actor: Option<String>,
    /// From this time on (ms since the epoch).
    #[serde(default, deserialize_with = "int_param")]
    from: Option<i64>,
    /// Before this time (ms since the epoch).
    #[serde(default, deserialize_with = "int_param")]
    to: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(super::PageQuery, ("action" = Option<String>, Query), ("actor" = Option<String>, Query), ("from" = Option<i64>, Query, description = "ms since the epoch, inclusive"), ("to" = Option<i64>, Query, description = "ms since the epoch, exclusive")), responses((status = 200, body = super::List<AuditRecord>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<List<AuditRecord>>, ApiError> {
    p.authorize(Permission::AuditRead)?;
    let page = Page::new(q.limit, q.offset)?;
    let filter = AuditFilter {
        action: q.action,
        actor: q.actor,
        from: q.from,
        to: q.to,
    };
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_audit(&filter, page)
            .await?,
        page,
    ))
}

/// Verifies the whole audit chain for a tenant's auditor, revealing nothing about other
/// tenants: intact or not, this tenant's records checked, and the broken record only
/// when it is this tenant's. Keyed with the server's audit key, and checked against the
/// signed checkpoints when the server writes them. The verification is itself audited.
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = TenantVerification), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    p: Principal,
) -> Result<axum::Json<TenantVerification>, ApiError> {
    let role = p.authorize(Permission::AuditRead)?;
    Ok(axum::Json(
        state
            .store
            .tenant(&p.tenant_id)
            .verify_audit(&p.audit(role), state.audit_checkpoints.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/security-events", tag = "audit", params(super::PageQuery), responses((status = 200, body = super::List<SecurityEvent>), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn security_events(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<SecurityEvent>>, ApiError> {
    p.authorize(Permission::SecurityEventRead)?;
    let page = q.page()?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_security_events(page)
            .await?,
        page,
    ))
}
