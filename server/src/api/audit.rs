//! `/api/v1/audit` and `/api/v1/security-events`: security_engineer and infra_admin only.

use axum::extract::State;
use serde::Deserialize;

use super::extract::{Query, int_param};
use super::{List, PageQuery};
use crate::auth::principal::Principal;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{AuditRecord, Page, SecurityEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default, deserialize_with = "int_param")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "int_param")]
    offset: Option<i64>,
    /// Only this action, e.g. `config.activate`.
    #[serde(default)]
    action: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<List<AuditRecord>>, ApiError> {
    p.authorize(Permission::AuditRead)?;
    let page = Page::new(q.limit, q.offset)?;
    Ok(List::new(
        state
            .store
            .tenant(&p.tenant_id)
            .list_audit(q.action.as_deref(), page)
            .await?,
        page,
    ))
}

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
