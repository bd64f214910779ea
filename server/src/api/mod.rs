//! The HTTP surface: `/api/v1` (management, users), `/sdk/v1` (app keys), `/v1` (the
//! OpenAI-compatible gateway, app keys: `crate::gateway`), and the operational endpoints. [`ROUTES`] lists every management route with the permission it
//! needs; the route × role test walks it against the matrix in `rbac.rs`.

mod advice;
mod alerts;
mod apps;
mod audit;
mod auth;
mod budgets;
mod call_log_policy;
mod call_logs;
mod capacity;
mod configs;
mod console;
pub(crate) mod costs;
mod costs_csv;
mod departments;
mod events;
pub mod extract;
mod health;
mod keys;
pub(crate) mod leases;
mod oidc_device;
mod oidc_login;
mod oidc_sign_in;
pub mod openapi;
mod prices;
pub mod principal;
mod providers;
mod rate_limits;
mod rollouts;
mod sdk;
mod service_principal;
mod sso;
mod tenants;
pub(crate) mod usage;
mod usage_ingest;
mod users;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use switchyard::sdk_protocol::{
    CONFIG_PATH, ConfigQuery, LEASE_RETURN_PATH, LEASES_PATH, USAGE_PATH,
};

use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::Page;

/// Request bodies above this are refused with 413 before they are read in full.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every permission-checked route: (method, path, permission).
pub const ROUTES: &[(&str, &str, Permission)] = &[
    ("GET", "/api/v1/departments", Permission::DepartmentRead),
    ("POST", "/api/v1/departments", Permission::DepartmentWrite),
    (
        "GET",
        "/api/v1/departments/{id}",
        Permission::DepartmentRead,
    ),
    (
        "PATCH",
        "/api/v1/departments/{id}",
        Permission::DepartmentWrite,
    ),
    ("GET", "/api/v1/apps", Permission::AppRead),
    ("POST", "/api/v1/apps", Permission::AppWrite),
    ("GET", "/api/v1/apps/{id}", Permission::AppRead),
    ("PATCH", "/api/v1/apps/{id}", Permission::AppWrite),
    ("DELETE", "/api/v1/apps/{id}", Permission::AppWrite),
    ("GET", "/api/v1/apps/{id}/keys", Permission::KeyRead),
    ("POST", "/api/v1/apps/{id}/keys", Permission::KeyWrite),
    ("POST", "/api/v1/keys/{id}/revoke", Permission::KeyWrite),
    ("GET", "/api/v1/users", Permission::UserRead),
    ("POST", "/api/v1/users", Permission::UserWrite),
    ("GET", "/api/v1/users/{id}", Permission::UserRead),
    ("PATCH", "/api/v1/users/{id}", Permission::UserWrite),
    ("POST", "/api/v1/users/{id}/bindings", Permission::UserWrite),
    ("GET", "/api/v1/providers", Permission::ProviderRead),
    ("POST", "/api/v1/providers", Permission::ProviderWrite),
    ("GET", "/api/v1/providers/{id}", Permission::ProviderRead),
    (
        "PUT",
        "/api/v1/providers/{id}/credential",
        Permission::ProviderWrite,
    ),
    (
        "DELETE",
        "/api/v1/providers/{id}",
        Permission::ProviderWrite,
    ),
    ("GET", "/api/v1/configs", Permission::ConfigRead),
    ("POST", "/api/v1/configs", Permission::ConfigWrite),
    ("POST", "/api/v1/configs/validate", Permission::ConfigWrite),
    ("GET", "/api/v1/configs/active", Permission::ConfigRead),
    ("GET", "/api/v1/configs/{id}", Permission::ConfigRead),
    (
        "POST",
        "/api/v1/configs/{id}/activate",
        Permission::ConfigActivate,
    ),
    (
        "POST",
        "/api/v1/configs/rollback",
        Permission::ConfigActivate,
    ),
    ("GET", "/api/v1/models", Permission::ConfigRead),
    ("GET", "/api/v1/audit", Permission::AuditRead),
    ("POST", "/api/v1/audit/verify", Permission::AuditRead),
    (
        "GET",
        "/api/v1/security-events",
        Permission::SecurityEventRead,
    ),
    ("GET", "/api/v1/usage", Permission::UsageRead),
    ("GET", "/api/v1/costs/report", Permission::CostRead),
    ("GET", "/api/v1/costs/chargeback", Permission::CostRead),
    ("GET", "/api/v1/costs/advice", Permission::CostRead),
    ("GET", "/api/v1/budgets", Permission::BudgetRead),
    ("POST", "/api/v1/budgets", Permission::BudgetWrite),
    ("GET", "/api/v1/budgets/{id}", Permission::BudgetRead),
    ("PATCH", "/api/v1/budgets/{id}", Permission::BudgetWrite),
    ("DELETE", "/api/v1/budgets/{id}", Permission::BudgetWrite),
    ("GET", "/api/v1/budgets/{id}/leases", Permission::BudgetRead),
    ("GET", "/api/v1/rate-limits", Permission::BudgetRead),
    ("POST", "/api/v1/rate-limits", Permission::BudgetWrite),
    ("GET", "/api/v1/rate-limits/{id}", Permission::BudgetRead),
    ("PATCH", "/api/v1/rate-limits/{id}", Permission::BudgetWrite),
    (
        "DELETE",
        "/api/v1/rate-limits/{id}",
        Permission::BudgetWrite,
    ),
    ("GET", "/api/v1/prices", Permission::BudgetRead),
    ("PUT", "/api/v1/prices/{id}", Permission::BudgetWrite),
    ("DELETE", "/api/v1/prices/{id}", Permission::BudgetWrite),
    ("GET", "/api/v1/events", Permission::BudgetRead),
    // Rollouts (docs/rollouts.md).
    ("GET", "/api/v1/rollouts", Permission::ConfigRead),
    ("POST", "/api/v1/rollouts", Permission::ConfigActivate),
    ("GET", "/api/v1/rollouts/{id}", Permission::ConfigRead),
    (
        "GET",
        "/api/v1/rollouts/{id}/report",
        Permission::ConfigRead,
    ),
    (
        "POST",
        "/api/v1/rollouts/{id}/pause",
        Permission::ConfigActivate,
    ),
    (
        "POST",
        "/api/v1/rollouts/{id}/resume",
        Permission::ConfigActivate,
    ),
    (
        "POST",
        "/api/v1/rollouts/{id}/promote",
        Permission::ConfigActivate,
    ),
    (
        "POST",
        "/api/v1/rollouts/{id}/abort",
        Permission::ConfigActivate,
    ),
    ("GET", "/api/v1/tenants", Permission::TenantRead),
    ("POST", "/api/v1/tenants", Permission::TenantCreate),
    // Alerts (docs/alerts.md).
    ("GET", "/api/v1/alert-channels", Permission::AlertRead),
    (
        "POST",
        "/api/v1/alert-channels",
        Permission::AlertChannelWrite,
    ),
    ("GET", "/api/v1/alerts", Permission::AlertRead),
    ("GET", "/api/v1/alerts/rules", Permission::AlertRead),
    ("GET", "/api/v1/alerts/deliveries", Permission::AlertRead),
    // Health and capacity (docs/capacity.md).
    ("GET", "/api/v1/health/deployments", Permission::HealthRead),
    ("GET", "/api/v1/capacity/report", Permission::HealthRead),
    (
        "POST",
        "/api/v1/alerts/health/rules",
        Permission::AlertHealthWrite,
    ),
    (
        "DELETE",
        "/api/v1/alerts/health/rules/{id}",
        Permission::AlertHealthWrite,
    ),
    (
        "POST",
        "/api/v1/alerts/cost/rules",
        Permission::AlertCostWrite,
    ),
    (
        "DELETE",
        "/api/v1/alerts/cost/rules/{id}",
        Permission::AlertCostWrite,
    ),
    (
        "POST",
        "/api/v1/alerts/security/rules",
        Permission::AlertSecurityWrite,
    ),
    (
        "DELETE",
        "/api/v1/alerts/security/rules/{id}",
        Permission::AlertSecurityWrite,
    ),
    // Call logs (docs/call-logs.md).
    (
        "GET",
        "/api/v1/apps/{id}/call-logs",
        Permission::CallLogConfigure,
    ),
    (
        "PUT",
        "/api/v1/apps/{id}/call-logs",
        Permission::CallLogConfigure,
    ),
    ("GET", "/api/v1/call-logs", Permission::CallLogRead),
    ("GET", "/api/v1/call-logs/export", Permission::CallLogRead),
    ("GET", "/api/v1/call-logs/{id}", Permission::CallLogRead),
    ("GET", "/api/v1/sso", Permission::SsoRead),
    ("PUT", "/api/v1/sso", Permission::SsoWrite),
    ("DELETE", "/api/v1/sso", Permission::SsoWrite),
    ("GET", "/api/v1/sso/rules", Permission::SsoRead),
    ("POST", "/api/v1/sso/rules", Permission::SsoWrite),
    ("DELETE", "/api/v1/sso/rules/{id}", Permission::SsoWrite),
];

/// `limit` / `offset` on every list; the bounds are [`Page::new`]'s, documented.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Default 50.
    #[serde(default, deserialize_with = "extract::int_param")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Default 0.
    #[serde(default, deserialize_with = "extract::int_param")]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, ApiError> {
        Ok(Page::new(self.limit, self.offset)?)
    }
}

/// The envelope of every list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub limit: i64,
    pub offset: i64,
}

impl<T> List<T> {
    pub fn new(items: Vec<T>, page: Page) -> axum::Json<List<T>> {
        axum::Json(List {
            items,
            limit: page.limit,
            offset: page.offset,
        })
    }
}

/// Runs every request decoder on `data`, as a body and as a query string: the fuzz
/// target's entry point. Decoding must fail cleanly, never panic.
#[doc(hidden)]
pub fn decode_everything(data: &[u8]) {
    use extract::{decode, decode_query};
    let _ = decode::<apps::CreateApp>(data);
    let _ = decode::<auth::LoginRequest>(data);
    let _ = decode::<auth::NewToken>(data);
    let _ = decode::<oidc_device::DeviceStart>(data);
    let _ = decode::<oidc_device::DevicePoll>(data);
    let _ = decode::<departments::NewDepartment>(data);
    let _ = decode::<departments::PatchDepartment>(data);
    let _ = decode::<apps::PatchApp>(data);
    let _ = decode::<keys::CreateKey>(data);
    let _ = decode::<providers::CreateProvider>(data);
    let _ = decode::<providers::SetCredential>(data);
    let _ = decode::<users::CreateUser>(data);
    let _ = decode::<crate::store::NewBinding>(data);
    let _ = decode::<users::PatchUser>(data);
    let _ = decode::<tenants::CreateTenant>(data);
    let _ = decode::<crate::store::BudgetInput>(data);
    let _ = decode::<budgets::PatchBudget>(data);
    let _ = decode::<crate::store::RateLimitInput>(data);
    let _ = decode::<rate_limits::PatchRateLimit>(data);
    let _ = decode::<crate::store::PriceInput>(data);
    let _ = decode::<switchyard::sdk_protocol::LeaseRequest>(data);
    let _ = decode::<crate::store::ChannelInput>(data);
    let _ = decode::<alerts::CreateRule>(data);
    let _ = decode::<switchyard::sdk_protocol::LeaseReturn>(data);
    let _ = decode::<crate::store::NewRollout>(data);
    let _ = decode::<crate::call_logs::policy::CallLogPolicy>(data);
    let _ = decode::<crate::store::SsoInput>(data);
    let _ = decode::<crate::store::GroupRuleInput>(data);
    if let Ok(req) = decode::<configs::CreateVersion>(data) {
        if let Ok(document) = req.document() {
            let _ = crate::store::check_document(&document);
        }
    }
    if let Ok(req) = decode::<configs::ValidateText>(data) {
        let _ = crate::config_text::check(&req.yaml);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_query::<PageQuery>(text);
        let _ = decode_query::<apps::AppQuery>(text);
        let _ = decode_query::<audit::AuditQuery>(text);
        let _ = decode_query::<ConfigQuery>(text);
        let _ = decode_query::<usage::UsageQuery>(text);
        let _ = decode_query::<costs::ReportQuery>(text);
        let _ = decode_query::<costs::ChargebackQuery>(text);
        let _ = decode_query::<advice::AdviceQuery>(text);
        let _ = decode_query::<call_logs::CallLogQuery>(text);
        let _ = decode_query::<oidc_login::StartQuery>(text);
        let _ = decode_query::<oidc_login::ProviderQuery>(text);
        let _ = decode_query::<oidc_login::CallbackQuery>(text);
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/tokens", post(auth::create_token))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/oidc/provider", get(oidc_login::provider))
        .route("/auth/oidc/start", get(oidc_login::start))
        .route("/auth/oidc/callback", get(oidc_login::callback))
        .route("/auth/oidc/device", post(oidc_device::start))
        .route("/auth/oidc/device/token", post(oidc_device::token))
        .route("/me", get(auth::me))
        .route(
            "/departments",
            get(departments::list).post(departments::create),
        )
        .route(
            "/departments/{id}",
            get(departments::get_one).patch(departments::update),
        )
        .route("/apps", get(apps::list).post(apps::create))
        .route(
            "/apps/{id}",
            get(apps::get_one).patch(apps::update).delete(apps::delete),
        )
        .route("/apps/{id}/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get_one).patch(users::update))
        .route("/users/{id}/bindings", post(users::bind))
        .route("/providers", get(providers::list).post(providers::create))
        .route(
            "/providers/{id}",
            get(providers::get_one).delete(providers::delete),
        )
        .route(
            "/providers/{id}/credential",
            axum::routing::put(providers::set_credential),
        )
        .route("/configs", get(configs::list).post(configs::create))
        .route("/configs/active", get(configs::active))
        .route("/configs/rollback", post(configs::rollback))
        .route("/configs/validate", post(configs::validate))
        .route("/configs/{id}", get(configs::get_one))
        .route("/configs/{id}/activate", post(configs::activate))
        .route("/models", get(configs::models))
        .route("/audit", get(audit::list))
        .route("/audit/verify", post(audit::verify))
        .route("/security-events", get(audit::security_events))
        .route("/usage", get(usage::series))
        .route("/costs/report", get(costs::report))
        .route("/costs/chargeback", get(costs::chargeback))
        .route("/costs/advice", get(advice::advice))
        .route("/budgets", get(budgets::list).post(budgets::create))
        .route(
            "/budgets/{id}",
            get(budgets::get_one)
                .patch(budgets::update)
                .delete(budgets::delete),
        )
        .route("/budgets/{id}/leases", get(budgets::leases))
        .route(
            "/rate-limits",
            get(rate_limits::list).post(rate_limits::create),
        )
        .route(
            "/rate-limits/{id}",
            get(rate_limits::get_one)
                .patch(rate_limits::update)
                .delete(rate_limits::delete),
        )
        .route("/prices", get(prices::list))
        .route(
            "/prices/{id}",
            axum::routing::put(prices::set).delete(prices::delete),
        )
        .route("/events", get(events::list))
        // Rollouts (docs/rollouts.md).
        .route("/rollouts", get(rollouts::list).post(rollouts::create))
        .route("/rollouts/{id}", get(rollouts::get_one))
        .route("/rollouts/{id}/report", get(rollouts::report))
        .route("/rollouts/{id}/pause", post(rollouts::pause))
        .route("/rollouts/{id}/resume", post(rollouts::resume))
        .route("/rollouts/{id}/promote", post(rollouts::promote))
        .route("/rollouts/{id}/abort", post(rollouts::abort))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route(
            "/sso",
            get(sso::get_settings)
                .put(sso::put_settings)
                .delete(sso::delete_settings),
        )
        .route("/sso/rules", get(sso::list_rules).post(sso::create_rule))
        .route("/sso/rules/{id}", axum::routing::delete(sso::delete_rule))
        // Alerts (docs/alerts.md).
        .route(
            "/alert-channels",
            get(alerts::list_channels).post(alerts::create_channel),
        )
        .route("/alerts", get(alerts::states))
        .route("/alerts/rules", get(alerts::list_rules))
        .route("/alerts/deliveries", get(alerts::deliveries))
        // Health and capacity (docs/capacity.md).
        .route("/health/deployments", get(capacity::health))
        .route("/capacity/report", get(capacity::report))
        .route("/alerts/health/rules", post(alerts::create_health))
        .route(
            "/alerts/health/rules/{id}",
            axum::routing::delete(alerts::delete_health),
        )
        .route("/alerts/cost/rules", post(alerts::create_cost))
        .route(
            "/alerts/cost/rules/{id}",
            axum::routing::delete(alerts::delete_cost),
        )
        .route("/alerts/security/rules", post(alerts::create_security))
        .route(
            "/alerts/security/rules/{id}",
            axum::routing::delete(alerts::delete_security),
        )
        // Call logs (docs/call-logs.md).
        .route(
            "/apps/{id}/call-logs",
            get(call_log_policy::get_policy).put(call_log_policy::set_policy),
        )
        .route("/call-logs", get(call_logs::search))
        .route("/call-logs/export", get(call_logs::export))
        .route("/call-logs/{id}", get(call_logs::get_one))
        .route_layer(middleware::from_fn(tag_route));
    Router::new()
        .nest("/api/v1", api)
        .nest("/v1", crate::gateway::routes())
        .route(CONFIG_PATH, get(sdk::config))
        .route(USAGE_PATH, post(usage_ingest::ingest))
        .route(LEASES_PATH, post(leases::lease))
        .route(LEASE_RETURN_PATH, post(leases::return_lease))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/docs", get(openapi::docs_page))
        .merge(console::routes())
        .route_layer(middleware::from_fn(tag_route))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn_with_state(state.clone(), client_addr))
        .with_state(state)
}

/// Attributes the request to its client before anything else runs: the peer, or behind
/// trusted proxies the address they name.
async fn client_addr(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let client = state.proxies.client(peer, request.headers());
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

/// The route template a request matched, carried out on the response for [`observe`].
#[derive(Clone)]
struct RouteTag(String);

async fn tag_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        if response.extensions().get::<RouteTag>().is_none() {
            response.extensions_mut().insert(RouteTag(route));
        }
    }
    response
}

/// The target of the per-request log lines.
const ACCESS: &str = "switchyard::access";

/// Metrics and one structured log line per request. Logs the route template, never the
/// query string or headers, so keys and tokens cannot reach the log.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteTag>()
        .map(|t| t.0.clone())
        .unwrap_or_else(|| "unmatched".into());
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe(&method, &route, status, elapsed.as_secs_f64());
    let ms = elapsed.as_secs_f64() * 1000.0;
    if route.starts_with("/v1/") {
        // The gateway's calls: one line each would be a fifth of a call's CPU at load.
        // Each call already leaves a usage event and metrics; operators who want the
        // lines turn them on (`SWITCHYARD_LOG=info,switchyard::access=debug`).
        tracing::debug!(target: ACCESS, method, route, status, ms, "request");
    } else if route != CONFIG_PATH || elapsed < Duration::from_secs(1) {
        tracing::info!(target: ACCESS, method, route, status, ms, "request");
    }
    response.into_response()
}
