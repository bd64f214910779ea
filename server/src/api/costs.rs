//! `/api/v1/costs/*`: the cost report of a calendar month (UTC) with the department tree
//! rolled up (or of any range; JSON or CSV), and the chargeback per department and app in cents that add up to the
//! report's total (largest remainder: [`crate::usage::chargeback`]). Both read rollups
//! only, within the caller's departments (`cost.read`, department-scopable).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::costs_csv::{report_csv, report_file_name};
use super::extract::Query;
use super::principal::Principal;
use super::usage::{Figures, names, report_scope};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{Dimension, TenantStore, UsageFilter, UsageSums};
use crate::usage::chargeback::{allocate_cents, cents_text, round_cents};
use crate::usage::csv;
use crate::usage::time::{parse_instant, parse_period};
use crate::usage::tree::{path, roll_up};
use crate::util::now_ms;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// A calendar month in UTC: `2026-11`; or give `from` (and `to`) instead.
    pub period: Option<String>,
    /// RFC 3339 or Unix milliseconds: the start of a range instead of a month.
    pub from: Option<String>,
    /// RFC 3339 or Unix milliseconds (exclusive), with `from`; default: now.
    pub to: Option<String>,
    /// `department` (default, with the tree rolled up), `app`, `model` or `deployment`.
    pub group_by: Option<Dimension>,
    /// Only this department and those below it.
    pub department: Option<String>,
    /// `json` (default) or `csv` (the columns of `costs_csv::REPORT_COLUMNS`).
    #[param(value_type = Option<String>)]
    pub format: Option<Format>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportItem {
    /// A department id, an app id or a model.
    pub key: String,
    pub name: Option<String>,
    /// For departments: the parent's id.
    pub parent_id: Option<String>,
    /// For departments: its own apps' usage (for other groupings the same as `total`).
    pub own: Figures,
    /// For departments: its own plus every department's below it.
    pub total: Figures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CostReport {
    /// The month asked for; none for a `from`/`to` range.
    pub period: Option<String>,
    pub from: i64,
    pub to: i64,
    pub group_by: Dimension,
    pub total: Figures,
    /// The total rounded half up to cents, as the chargeback's rows add up to it.
    pub total_cost_usd_cents: String,
    pub items: Vec<ReportItem>,
}

fn period(text: &str) -> Result<(i64, i64), ApiError> {
    parse_period(text).ok_or_else(|| ApiError::bad("period", "must be a month: YYYY-MM"))
}

/// The month's filter within the caller's reach.
pub(super) async fn month(
    p: &Principal,
    tenant: &TenantStore<'_>,
    period_text: &str,
    department: Option<&str>,
) -> Result<(UsageFilter, Vec<crate::store::DepartmentNode>), ApiError> {
    within(p, tenant, period(period_text)?, department).await
}

/// The report's span: a month (`period`) or a range (`from`, `to`), not both.
fn span(q: &ReportQuery) -> Result<(i64, i64), ApiError> {
    let instant = |field: &str, text: &str| {
        parse_instant(text)
            .ok_or_else(|| ApiError::bad(field, "must be RFC 3339 or Unix milliseconds"))
    };
    match (&q.period, &q.from) {
        (Some(month), None) if q.to.is_none() => period(month),
        (None, Some(from)) => {
            let from = instant("from", from)?;
            let to = match &q.to {
                Some(t) => instant("to", t)?,
                None => now_ms(),
            };
            if from >= to {
                return Err(ApiError::bad("from", "must be before `to`"));
            }
            Ok((from, to))
        }
        (Some(_), _) => Err(ApiError::bad(
            "period",
            "give a period or from/to, not both",
        )),
        (None, None) => Err(ApiError::bad(
            "period",
            "give a period (YYYY-MM) or from/to",
        )),
    }
}

/// The filter of `[from, to)` within the caller's reach.
async fn within(
    p: &Principal,
    tenant: &TenantStore<'_>,
    (from, to): (i64, i64),
    department: Option<&str>,
) -> Result<(UsageFilter, Vec<crate::store::DepartmentNode>), ApiError> {
    p.may_somewhere(Permission::CostRead)?;
    let nodes = tenant.department_nodes().await?;
    let departments = report_scope(p, &nodes, Permission::CostRead, department)?;
    Ok((
        UsageFilter {
            from_ms: from,
            to_ms: to,
            departments,
            ..UsageFilter::default()
        },
        nodes,
    ))
}

#[utoipa::path(get, path = "/api/v1/costs/report", tag = "usage", params(ReportQuery), responses((status = 200, body = CostReport, description = "JSON, or text/csv with the columns of REPORT_COLUMNS"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (filter, nodes) = within(&p, &tenant, span(&q)?, q.department.as_deref()).await?;
    let group = q.group_by.unwrap_or(Dimension::Department);
    if !matches!(
        group,
        Dimension::Department | Dimension::App | Dimension::Model | Dimension::Deployment
    ) {
        return Err(ApiError::bad(
            "group_by",
            "must be department, app, model or deployment",
        ));
    }
    let span = filter.to_ms - filter.from_ms;
    let rows = tenant.usage_rows(&filter, span, Some(group)).await?;
    let names = names(&tenant, &nodes, Some(group)).await?;
    let mut total = UsageSums::default();
    let own: HashMap<String, UsageSums> = rows
        .into_iter()
        .map(|r| {
            total.add(&r.sums);
            (r.group, r.sums)
        })
        .collect();
    let mut items: Vec<ReportItem> = if group == Dimension::Department {
        let totals = roll_up(&nodes, &own);
        let visible = filter.departments.as_ref();
        nodes
            .iter()
            .filter(|n| visible.is_none_or(|v| v.contains(&n.id)))
            .map(|n| ReportItem {
                key: n.id.clone(),
                name: Some(path(&nodes, &n.id)),
                parent_id: n.parent_id.clone(),
                own: Figures::of(&own.get(&n.id).cloned().unwrap_or_default()),
                total: Figures::of(&totals.get(&n.id).cloned().unwrap_or_default()),
            })
            .collect()
    } else {
        own.iter()
            .map(|(k, s)| ReportItem {
                key: k.clone(),
                name: names.get(k).cloned(),
                parent_id: None,
                own: Figures::of(s),
                total: Figures::of(s),
            })
            .collect()
    };
    items.sort_by(|a, b| a.name.cmp(&b.name).then(a.key.cmp(&b.key)));
    let report = CostReport {
        period: q.period,
        from: filter.from_ms,
        to: filter.to_ms,
        group_by: group,
        total_cost_usd_cents: cents_text(round_cents(total.cost_micros)),
        total: Figures::of(&total),
        items,
    };
    Ok(match q.format.unwrap_or_default() {
        Format::Json => axum::Json(report).into_response(),
        Format::Csv => csv_response(&report_file_name(&report), report_csv(&report)),
    })
}

/// A CSV body with its content type, downloaded as `name`.
fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    Csv,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChargebackQuery {
    /// A calendar month in UTC: `2026-11`.
    pub period: String,
    /// `json` (default) or `csv`.
    #[param(value_type = Option<String>)]
    pub format: Option<Format>,
    pub department: Option<String>,
}

/// One chargeback row: one app's usage in one department (the department the app was in
/// when it made the calls). The column names are stable; the CSV header is these names.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChargebackRow {
    pub period: String,
    pub department_id: String,
    /// `Root / Child`: the department's path of names.
    pub department: String,
    pub app_id: String,
    /// Empty for an app since deleted.
    pub app: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    /// Exact micro-dollars.
    pub cost_micros: i64,
    /// Dollars with two decimals; rows sum to `total_cost_usd` (largest remainder).
    pub cost_usd: String,
}

/// The CSV header: [`ChargebackRow`]'s fields in order.
pub const CHARGEBACK_COLUMNS: [&str; 11] = [
    "period",
    "department_id",
    "department",
    "app_id",
    "app",
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_micros",
    "cost_usd",
];

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Chargeback {
    pub period: String,
    pub currency: String,
    /// How cents were rounded: `largest_remainder`.
    pub rounding: String,
    pub total_cost_micros: i64,
    pub total_cost_usd: String,
    pub rows: Vec<ChargebackRow>,
}

/// The chargeback of `period` within `filter` (used by the CLI too).
pub async fn chargeback_of(
    tenant: &TenantStore<'_>,
    period_text: &str,
    filter: &UsageFilter,
    nodes: &[crate::store::DepartmentNode],
) -> Result<Chargeback, ApiError> {
    let apps = tenant.app_directory().await?;
    let mut rows: Vec<(String, String, UsageSums)> = tenant
        .usage_grouped(filter, &[Dimension::Department, Dimension::App])
        .await?
        .into_iter()
        .map(|(mut key, sums)| {
            let app = key.pop().unwrap_or_default();
            let dept = key.pop().unwrap_or_default();
            (dept, app, sums)
        })
        .collect();
    let label = |d: &str, a: &str| {
        (
            path(nodes, d),
            apps.get(a).map(|x| x.0.clone()).unwrap_or_default(),
        )
    };
    rows.sort_by_cached_key(|(d, a, _)| (label(d, a), d.clone(), a.clone()));
    let micros: Vec<i64> = rows.iter().map(|r| r.2.cost_micros).collect();
    let cents = allocate_cents(&micros);
    let total: i64 = micros.iter().sum();
    Ok(Chargeback {
        period: period_text.to_owned(),
        currency: "USD".into(),
        rounding: "largest_remainder".into(),
        total_cost_micros: total,
        total_cost_usd: cents_text(round_cents(total)),
        rows: rows
            .into_iter()
            .zip(cents)
            .map(|((d, a, s), c)| {
                let (department, app) = label(&d, &a);
                ChargebackRow {
                    period: period_text.to_owned(),
                    department_id: d,
                    department,
                    app_id: a,
                    app,
                    calls: s.calls,
                    prompt_tokens: s.prompt_tokens,
                    completion_tokens: s.completion_tokens,
                    cached_tokens: s.cached_tokens,
                    cost_micros: s.cost_micros,
                    cost_usd: cents_text(c),
                }
            })
            .collect(),
    })
}

/// The chargeback as CSV: the header, then one line per row.
pub fn chargeback_csv(c: &Chargeback) -> String {
    let mut out = csv::line(&CHARGEBACK_COLUMNS);
    for r in &c.rows {
        out.push_str(&csv::line(&[
            r.period.clone(),
            r.department_id.clone(),
            r.department.clone(),
            r.app_id.clone(),
            r.app.clone(),
            r.calls.to_string(),
            r.prompt_tokens.to_string(),
            r.completion_tokens.to_string(),
            r.cached_tokens.to_string(),
            r.cost_micros.to_string(),
            r.cost_usd.clone(),
        ]));
    }
    out
}

#[utoipa::path(get, path = "/api/v1/costs/chargeback", tag = "usage", params(ChargebackQuery), responses((status = 200, body = Chargeback, description = "JSON, or text/csv with the columns of ChargebackRow"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn chargeback(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ChargebackQuery>,
) -> Result<Response, ApiError> {
    let tenant = state.store.tenant(&p.tenant_id);
    let (filter, nodes) = month(&p, &tenant, &q.period, q.department.as_deref()).await?;
    let c = chargeback_of(&tenant, &q.period, &filter, &nodes).await?;
    Ok(match q.format.unwrap_or_default() {
        Format::Json => axum::Json(c).into_response(),
        Format::Csv => csv_response(&format!("chargeback-{}.csv", c.period), chargeback_csv(&c)),
    })
}
