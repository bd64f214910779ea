//! `/api/v1/call-logs`: logged calls (`docs/call-logs.md`). A search narrows by app,
//! model, user, tag, time, outcome, cache and local in SQL and, for tags and text, row by
//! row (text by opening each call's content, at most [`SCAN_LIMIT`] rows a request, which
//! the answer reports); one call comes with its usage and its request and answer; an export
//! is a JSONL sample of the matches. `call_log.read` where the app lives (an app
//! developer: its departments' apps). Every read of content is itself an audit record.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::extract::{Id, Query, int_param};
use super::principal::Principal;
use super::usage::{instant, report_scope};
use crate::call_logs::content::LoggedContent;
use crate::call_logs::sealing::open;
use crate::crypto::MasterKey;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{CallLogFilter, CallLogRow, CallUsage, Page, TenantStore};

/// The most rows one search or export opens to match text or tags.
pub const SCAN_LIMIT: usize = 5_000;
/// The most calls one export returns.
pub const MAX_SAMPLE: usize = 1_000;
/// Rows read from the database at a time while scanning.
const CHUNK: i64 = 500;
/// Characters of a call's last message a list shows.
const PREVIEW_CHARS: usize = 200;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallLogQuery {
    pub app: Option<String>,
    /// A department id: that department and those below it.
    pub department: Option<String>,
    pub model: Option<String>,
    pub user: Option<String>,
    /// Calls carrying this tag.
    pub tag: Option<String>,
    /// RFC 3339 or Unix milliseconds.
    pub from: Option<String>,
    /// RFC 3339 or Unix milliseconds (exclusive).
    pub to: Option<String>,
    /// `ok` or `error`.
    pub outcome: Option<String>,
    /// `true` or `false`.
    pub cache_hit: Option<String>,
    /// `true` or `false`: answered by the in-process model.
    pub local: Option<String>,
    /// Calls whose request or answer contains this text (case-insensitive).
    pub text: Option<String>,
    /// Search only (an export takes `sample`).
    #[serde(default, deserialize_with = "int_param")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Search only.
    #[serde(default, deserialize_with = "int_param")]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Export only: how many of the matches, chosen at random (default 100).
    #[serde(default, deserialize_with = "int_param")]
    #[param(minimum = 1, maximum = 1000)]
    pub sample: Option<i64>,
}

/// A logged call as a list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallLogItem {
    pub id: String,
    /// Unix milliseconds.
    pub time: i64,
    pub app_id: String,
    pub department_id: String,
    pub model: String,
    pub deployment: String,
    pub provider: String,
    pub user: Option<String>,
    pub tags: Vec<String>,
    /// `ok` or `error`.
    pub outcome: &'static str,
    pub error_code: Option<String>,
    pub cache_hit: bool,
    pub local: bool,
    pub stream: bool,
    pub redacted: bool,
    pub truncated: bool,
    pub content_bytes: i64,
    pub original_bytes: i64,
    /// The start of the request's last message.
    pub preview: Option<String>,
}

impl CallLogItem {
    fn of(row: &CallLogRow, content: Option<&LoggedContent>) -> CallLogItem {
        CallLogItem {
            id: row.id.clone(),
            time: row.time_ms,
            app_id: row.app_id.clone(),
            department_id: row.department_id.clone(),
            model: row.model.clone(),
            deployment: row.deployment.clone(),
            provider: row.provider.clone(),
            user: row.user.clone(),
            tags: row.tags.clone(),
            outcome: if row.error_code.is_some() {
                "error"
            } else {
                "ok"
            },
            error_code: row.error_code.clone(),
            cache_hit: row.cache_hit,
            local: row.local,
            stream: row.stream,
            redacted: row.redacted,
            truncated: row.truncated,
            content_bytes: row.content_bytes,
            original_bytes: row.original_bytes,
            preview: content.and_then(|c| c.preview(PREVIEW_CHARS)),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallLogPage {
    pub items: Vec<CallLogItem>,
    pub limit: i64,
    pub offset: i64,
    /// Rows opened to match `text` or `tag` (0 when neither was asked).
    pub scanned: usize,
    /// True when the scan stopped at its limit: older matches may exist; narrow the time
    /// range or the other filters to reach them.
    pub scan_limit_reached: bool,
}

/// One call: its metadata, its usage (while usage retention keeps the event), and its
/// request and answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallLogDetail {
    #[serde(flatten)]
    pub call: CallLogItem,
    pub usage: Option<CallUsage>,
    pub content: LoggedContent,
}

fn flag(field: &str, text: Option<&str>) -> Result<Option<bool>, ApiError> {
    match text {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad(field, "must be true or false")),
    }
}

/// The SQL filter of a query, within the caller's reach.
async fn filter_of(
    p: &Principal,
    tenant: &TenantStore<'_>,
    q: &CallLogQuery,
) -> Result<CallLogFilter, ApiError> {
    let nodes = tenant.department_nodes().await?;
    let departments = report_scope(p, &nodes, Permission::CallLogRead, q.department.as_deref())?;
    let failed = match q.outcome.as_deref() {
        None => None,
        Some("ok") => Some(false),
        Some("error") => Some(true),
        Some(_) => return Err(ApiError::bad("outcome", "must be ok or error")),
    };
    let from_ms = q
        .from
        .as_deref()
        .map(|t| instant("from", Some(t), 0))
        .transpose()?;
    let to_ms =
        q.to.as_deref()
            .map(|t| instant("to", Some(t), 0))
            .transpose()?;
    Ok(CallLogFilter {
        departments,
        app: q.app.clone(),
        model: q.model.clone(),
        user: q.user.clone(),
        from_ms,
        to_ms,
        failed,
        cache_hit: flag("cache_hit", q.cache_hit.as_deref())?,
        local: flag("local", q.local.as_deref())?,
    })
}

fn master_key(state: &AppState) -> Result<&MasterKey, ApiError> {
    state
        .master_key
        .as_deref()
        .ok_or_else(|| ApiError::Unavailable("the server has no master key".into()))
}

/// The content of `row`; `None` (logged) when it does not open.
fn opened(key: &MasterKey, tenant_id: &str, row: &CallLogRow) -> Option<LoggedContent> {
    let json = open(key, tenant_id, &row.id, &row.sealed)
        .map_err(|error| tracing::error!(%error, id = %row.id, "call log does not open"))
        .ok()?;
    serde_json::from_str(&json)
        .map_err(|error| tracing::error!(%error, id = %row.id, "call log is not content"))
        .ok()
}

/// What matched a scan.
struct Scan {
    matches: Vec<(CallLogRow, Option<LoggedContent>)>,
    scanned: usize,
    limit_reached: bool,
}

/// Walks `filter`'s rows newest first, keeping those with `tag` and `text`, and hands
/// each match to `keep` until it says stop or [`SCAN_LIMIT`] rows were looked at.
async fn scan(
    tenant: &TenantStore<'_>,
    key: &MasterKey,
    filter: &CallLogFilter,
    tag: Option<&str>,
    text: Option<&str>,
    mut keep: impl FnMut(CallLogRow, Option<LoggedContent>) -> bool,
) -> Result<(usize, bool), ApiError> {
    let needle = text.map(str::to_lowercase);
    let mut scanned = 0;
    let mut offset = 0;
    loop {
        let rows = tenant.search_call_logs(filter, CHUNK, offset).await?;
        let last = (rows.len() as i64) < CHUNK;
        offset += CHUNK;
        for row in rows {
            if scanned == SCAN_LIMIT {
                return Ok((scanned, true));
            }
            scanned += 1;
            if tag.is_some_and(|t| !row.tags.iter().any(|x| x == t)) {
                continue;
            }
            let content = opened(key, tenant.tenant_id(), &row);
            if let Some(needle) = &needle {
                let found = content.as_ref().is_some_and(|c| {
                    serde_json::to_string(c)
                        .is_ok_and(|json| json.to_lowercase().contains(needle.as_str()))
                });
                if !found {
                    continue;
                }
            }
            if !keep(row, content) {
                return Ok((scanned, false));
            }
        }
        if last {
            return Ok((scanned, false));
        }
    }
}

/// One page of matches: by SQL alone when no tag or text is asked, else by a scan.
async fn page_of(
    tenant: &TenantStore<'_>,
    key: &MasterKey,
    filter: &CallLogFilter,
    q: &CallLogQuery,
    page: Page,
) -> Result<Scan, ApiError> {
    if q.tag.is_none() && q.text.is_none() {
        let rows = tenant
            .search_call_logs(filter, page.limit, page.offset)
            .await?;
        let matches = rows
            .into_iter()
            .map(|row| {
                let content = opened(key, tenant.tenant_id(), &row);
                (row, content)
            })
            .collect();
        return Ok(Scan {
            matches,
            scanned: 0,
            limit_reached: false,
        });
    }
    let mut skip = page.offset;
    let mut matches = Vec::new();
    let (scanned, limit_reached) = scan(
        tenant,
        key,
        filter,
        q.tag.as_deref(),
        q.text.as_deref(),
        |row, content| {
            if skip > 0 {
                skip -= 1;
            } else {
                matches.push((row, content));
            }
            (matches.len() as i64) < page.limit
        },
    )
    .await?;
    Ok(Scan {
        matches,
        scanned,
        limit_reached,
    })
}

#[utoipa::path(get, path = "/api/v1/call-logs", tag = "call-logs", params(CallLogQuery), responses((status = 200, body = CallLogPage), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn search(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<CallLogQuery>,
) -> Result<axum::Json<CallLogPage>, ApiError> {
    p.may_somewhere(Permission::CallLogRead)?;
    if q.sample.is_some() {
        return Err(ApiError::bad("sample", "only for /api/v1/call-logs/export"));
    }
    let page = Page::new(q.limit, q.offset)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let filter = filter_of(&p, &tenant, &q).await?;
    let key = master_key(&state)?;
    let found = page_of(&tenant, key, &filter, &q, page).await?;
    let items: Vec<CallLogItem> = found
        .matches
        .iter()
        .map(|(row, content)| CallLogItem::of(row, content.as_ref()))
        .collect();
    // Previews are content, and a text search reads content even when nothing matched.
    if !items.is_empty() || q.text.is_some() {
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let role = read_role(&p)?;
        tenant
            .audit_content_read(&p.audit(role), "call_log.search", "call-logs", &ids)
            .await?;
    }
    Ok(axum::Json(CallLogPage {
        items,
        limit: page.limit,
        offset: page.offset,
        scanned: found.scanned,
        scan_limit_reached: found.limit_reached,
    }))
}

/// The role a read is audited under: the caller's first that reads content.
fn read_role(p: &Principal) -> Result<crate::rbac::Role, ApiError> {
    p.bindings
        .iter()
        .map(|b| b.role)
        .find(|r| crate::rbac::allows(*r, Permission::CallLogRead))
        .ok_or(ApiError::Forbidden)
}

#[utoipa::path(get, path = "/api/v1/call-logs/{id}", tag = "call-logs", params(("id" = String, Path, description = "the usage event's id")), responses((status = 200, body = CallLogDetail), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Id(id): Id,
) -> Result<axum::Json<CallLogDetail>, ApiError> {
    p.may_somewhere(Permission::CallLogRead)?;
    let tenant = state.store.tenant(&p.tenant_id);
    let row = tenant.get_call_log(&id).await?;
    let role = p
        .authorize_in(&tenant, Permission::CallLogRead, &row.department_id)
        .await?;
    let key = master_key(&state)?;
    let json = open(key, &p.tenant_id, &row.id, &row.sealed)
        .map_err(|e| ApiError::Internal(format!("call log {}: {e}", row.id)))?;
    let content: LoggedContent =
        serde_json::from_str(&json).map_err(|e| ApiError::Internal(e.to_string()))?;
    let usage = tenant.call_usage(&row.id).await?;
    tenant
        .audit_content_read(
            &p.audit(role),
            "call_log.read",
            &row.id,
            std::slice::from_ref(&row.id),
        )
        .await?;
    Ok(axum::Json(CallLogDetail {
        call: CallLogItem::of(&row, Some(&content)),
        usage,
        content,
    }))
}

/// One line of an export.
#[derive(Serialize)]
struct ExportLine<'a> {
    #[serde(flatten)]
    call: CallLogItem,
    request: &'a serde_json::Value,
    response: &'a Option<serde_json::Value>,
    error: &'a Option<String>,
}

#[utoipa::path(get, path = "/api/v1/call-logs/export", tag = "call-logs", params(CallLogQuery), responses((status = 200, content_type = "application/x-ndjson", body = String, description = "one call a line: its metadata, request, response and error"), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<CallLogQuery>,
) -> Result<Response, ApiError> {
    p.may_somewhere(Permission::CallLogRead)?;
    let n = usize::try_from(q.sample.unwrap_or(100))
        .ok()
        .filter(|n| (1..=MAX_SAMPLE).contains(n))
        .ok_or_else(|| ApiError::bad("sample", format!("must be between 1 and {MAX_SAMPLE}")))?;
    if q.limit.is_some() || q.offset.is_some() {
        return Err(ApiError::bad(
            "limit",
            "an export takes `sample`, not pages",
        ));
    }
    let tenant = state.store.tenant(&p.tenant_id);
    let filter = filter_of(&p, &tenant, &q).await?;
    let key = master_key(&state)?;
    // Reservoir sampling: each match seen so far is in the sample with equal chance.
    let mut sample: Vec<(CallLogRow, Option<LoggedContent>)> = Vec::with_capacity(n);
    let mut seen = 0usize;
    scan(
        &tenant,
        key,
        &filter,
        q.tag.as_deref(),
        q.text.as_deref(),
        |row, content| {
            seen += 1;
            if sample.len() < n {
                sample.push((row, content));
            } else {
                let j = rand::random_range(0..seen);
                if j < n {
                    sample[j] = (row, content);
                }
            }
            true
        },
    )
    .await?;
    sample.sort_by(|a, b| (b.0.time_ms, &b.0.id).cmp(&(a.0.time_ms, &a.0.id)));
    let mut body = String::new();
    let mut ids = Vec::with_capacity(sample.len());
    for (row, content) in &sample {
        let Some(content) = content else { continue };
        let line = ExportLine {
            call: CallLogItem::of(row, Some(content)),
            request: &content.request,
            response: &content.response,
            error: &content.error,
        };
        body.push_str(
            &serde_json::to_string(&line).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        body.push('\n');
        ids.push(row.id.clone());
    }
    let role = read_role(&p)?;
    tenant
        .audit_content_read(&p.audit(role), "call_log.export", "call-logs", &ids)
        .await?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}
