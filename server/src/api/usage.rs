//! `GET /api/v1/usage`: usage as a time series over any range, from the per-minute
//! rollups (raw events for tags and users), grouped and filtered by department, app, model,
//! deployment, provider or tag. Only buckets with calls are listed.
//!
//! Who sees what: `usage.read` at tenant scope sees the tenant; a department-scoped
//! binding sees the apps of that department and those below it. An app developer's "own
//! apps" are the apps of the departments its bindings name (apps carry no owner: the
//! department is what the server knows them by).

use std::collections::HashMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::extract::Query;
use super::principal::Principal;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{DepartmentNode, Dimension, TenantStore, UsageFilter, UsageSums};
use crate::usage::histogram::quantile;
use crate::usage::time::{parse_instant, parse_step};
use crate::usage::tree::subtree;
use crate::util::now_ms;

/// The most buckets one series request may span.
pub const MAX_BUCKETS: i64 = 10_000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// RFC 3339 or Unix milliseconds; default: 24 hours before `to`.
    pub from: Option<String>,
    /// RFC 3339 or Unix milliseconds (exclusive); default: now.
    pub to: Option<String>,
    /// `1m`, `15m`, `1h`, `1d`…; default `1h`.
    pub step: Option<String>,
    pub group_by: Option<Dimension>,
    /// A department id: that department and those below it.
    pub department: Option<String>,
    pub app: Option<String>,
    pub model: Option<String>,
    pub deployment: Option<String>,
    pub provider: Option<String>,
    pub tag: Option<String>,
    /// Only this user's calls (read from raw events, like tags: within retention).
    pub user: Option<String>,
}

/// The figures of one bucket (or one report row).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub calls: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    /// US dollars, from exact micro-dollars.
    pub cost_usd: f64,
    pub cost_micros: i64,
    pub error_rate: f64,
    pub cache_hit_rate: f64,
    /// The share of calls answered by the in-process model.
    pub local_share: f64,
    pub latency_ms_avg: Option<f64>,
    /// Percentiles from the rollups' fixed histogram, interpolated within a bucket.
    pub latency_ms_p50: Option<f64>,
    pub latency_ms_p95: Option<f64>,
    pub latency_ms_p99: Option<f64>,
}

impl Figures {
    pub fn of(s: &UsageSums) -> Figures {
        let rate = |n: i64| {
            if s.calls > 0 {
                n as f64 / s.calls as f64
            } else {
                0.0
            }
        };
        Figures {
            calls: s.calls,
            errors: s.errors,
            prompt_tokens: s.prompt_tokens,
            completion_tokens: s.completion_tokens,
            cached_tokens: s.cached_tokens,
            cost_usd: micros_to_usd(s.cost_micros),
            cost_micros: s.cost_micros,
            error_rate: rate(s.errors),
            cache_hit_rate: rate(s.cache_hits),
            local_share: rate(s.local_calls),
            latency_ms_avg: (s.calls > 0)
                .then(|| s.latency_us_sum as f64 / 1000.0 / s.calls as f64),
            latency_ms_p50: quantile(&s.latency, 0.50),
            latency_ms_p95: quantile(&s.latency, 0.95),
            latency_ms_p99: quantile(&s.latency, 0.99),
        }
    }
}

/// Micro-dollars as a decimal number of dollars.
pub fn micros_to_usd(micros: i64) -> f64 {
    micros as f64 / 1e6
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsagePoint {
    /// The bucket's start, Unix milliseconds.
    pub time: i64,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageSeries {
    /// The group's value (a department or app id, a model…); absent when not grouped.
    pub group: Option<String>,
    /// The department's or app's name, for those groupings.
    pub name: Option<String>,
    pub points: Vec<UsagePoint>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    pub from: i64,
    pub to: i64,
    pub step_ms: i64,
    pub group_by: Option<Dimension>,
    pub series: Vec<UsageSeries>,
}

/// The departments a report covers: the caller's reach for `permission`, narrowed to the
/// `department` filter's subtree; `None` is the whole tenant. A department outside the
/// caller's reach is not found, as for another tenant.
pub(super) fn report_scope(
    p: &Principal,
    nodes: &[DepartmentNode],
    permission: Permission,
    department: Option<&str>,
) -> Result<Option<Vec<String>>, ApiError> {
    p.may_somewhere(permission)?;
    let reach = p
        .department_scope(permission)
        .map(|roots| subtree(nodes, &roots));
    let Some(d) = department else {
        return Ok(reach);
    };
    let inside =
        nodes.iter().any(|n| n.id == d) && reach.as_ref().is_none_or(|r| r.iter().any(|x| x == d));
    if !inside {
        return Err(ApiError::NotFound);
    }
    Ok(Some(subtree(nodes, &[d.to_owned()])))
}

/// A name for a department or app group.
pub(super) async fn names(
    tenant: &TenantStore<'_>,
    nodes: &[DepartmentNode],
    group: Option<Dimension>,
) -> Result<HashMap<String, String>, ApiError> {
    Ok(match group {
        Some(Dimension::Department) => nodes
            .iter()
            .map(|n| (n.id.clone(), crate::usage::tree::path(nodes, &n.id)))
            .collect(),
        Some(Dimension::App) => tenant
            .app_directory()
            .await?
            .into_iter()
            .map(|(id, (name, _))| (id, name))
            .collect(),
        _ => HashMap::new(),
    })
}

/// `from` before `to`, at most [`MAX_BUCKETS`] steps apart.
pub fn check_range(from: i64, to: i64, step: i64) -> Result<(), ApiError> {
    if from >= to {
        return Err(ApiError::bad("from", "must be before `to`"));
    }
    if (to - from) / step > MAX_BUCKETS {
        return Err(ApiError::bad(
            "step",
            format!("the range spans more than {MAX_BUCKETS} steps"),
        ));
    }
    Ok(())
}

pub(super) fn instant(field: &str, text: Option<&str>, default: i64) -> Result<i64, ApiError> {
    match text {
        None => Ok(default),
        Some(t) => parse_instant(t)
            .ok_or_else(|| ApiError::bad(field, "must be RFC 3339 or Unix milliseconds")),
    }
}

#[utoipa::path(get, path = "/api/v1/usage", tag = "usage", params(UsageQuery), responses((status = 200, body = UsageReport), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn series(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<UsageQuery>,
) -> Result<axum::Json<UsageReport>, ApiError> {
    p.may_somewhere(Permission::UsageRead)?;
    let to = instant("to", q.to.as_deref(), now_ms())?;
    let from = instant("from", q.from.as_deref(), to - 86_400_000)?;
    let step = match q.step.as_deref() {
        None => 3_600_000,
        Some(s) => {
            parse_step(s).ok_or_else(|| ApiError::bad("step", "must be like 1m, 1h or 1d"))?
        }
    };
    check_range(from, to, step)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let nodes = tenant.department_nodes().await?;
    let departments = report_scope(&p, &nodes, Permission::UsageRead, q.department.as_deref())?;
    let filter = UsageFilter {
        from_ms: from,
        to_ms: to,
        departments,
        app: q.app,
        model: q.model,
        deployment: q.deployment,
        provider: q.provider,
        tag: q.tag,
        user: q.user,
    };
    Ok(axum::Json(
        usage_report(&tenant, &nodes, &filter, step, q.group_by).await?,
    ))
}

/// The series of `filter` in `step` buckets, grouped by `group` (used by the CLI too).
pub async fn usage_report(
    tenant: &TenantStore<'_>,
    nodes: &[DepartmentNode],
    filter: &UsageFilter,
    step: i64,
    group: Option<Dimension>,
) -> Result<UsageReport, ApiError> {
    let rows = tenant.usage_rows(filter, step, group).await?;
    let names = names(tenant, nodes, group).await?;
    let mut series: Vec<UsageSeries> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let i = *index.entry(row.group.clone()).or_insert_with(|| {
            series.push(UsageSeries {
                group: group.map(|_| row.group.clone()),
                name: names.get(&row.group).cloned(),
                points: Vec::new(),
            });
            series.len() - 1
        });
        series[i].points.push(UsagePoint {
            time: row.bucket,
            figures: Figures::of(&row.sums),
        });
    }
    for s in &mut series {
        s.points.sort_by_key(|p| p.time);
    }
    Ok(UsageReport {
        from: filter.from_ms,
        to: filter.to_ms,
        step_ms: step,
        group_by: group,
        series,
    })
}
