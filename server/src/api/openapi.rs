//! The OpenAPI 3.1 document, generated from the handlers' annotations (utoipa), served at
//! `/openapi.json`, and a small self-contained page at `/docs` that renders it (no CDN:
//! it works on an air-gapped network).

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    advice, alerts, apps, audit, auth, budgets, call_log_policy, call_logs, capacity, configs,
    costs, departments, events, health, keys, leases, oidc_device, oidc_login, prices, providers,
    rate_limits, rollouts, sdk, sso, tenants, usage, usage_ingest, users,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchyard management API", description = "Tenants, departments, apps, keys, users, providers, config versions, audit, budgets, rate limits, prices, call logs; the SDK config, usage and lease endpoints; and the OpenAI-compatible gateway under /v1."),
    paths(
        auth::login, auth::create_token, auth::logout, auth::me,
        oidc_login::provider, oidc_login::start, oidc_login::callback,
        oidc_device::start, oidc_device::token,
        departments::list, departments::create, departments::get_one, departments::update,
        apps::list, apps::create, apps::get_one, apps::update, apps::delete,
        keys::list, keys::create, keys::revoke,
        users::list, users::create, users::get_one, users::update, users::bind,
        providers::list, providers::create, providers::get_one, providers::set_credential, providers::delete,
        configs::list, configs::create, configs::validate, configs::active, configs::get_one, configs::activate, configs::rollback, configs::models,
        audit::list, audit::verify, audit::security_events,
        tenants::list, tenants::create,
        usage::series, costs::report, costs::chargeback, advice::advice,
        budgets::list, budgets::create, budgets::get_one, budgets::update, budgets::delete, budgets::leases,
        rate_limits::list, rate_limits::create, rate_limits::get_one, rate_limits::update, rate_limits::delete,
        prices::list, prices::set, prices::delete, events::list,
        rollouts::list, rollouts::create, rollouts::get_one, rollouts::report,
        rollouts::pause, rollouts::resume, rollouts::promote, rollouts::abort,
        alerts::list_channels, alerts::create_channel, alerts::list_rules, alerts::states,
        alerts::deliveries, alerts::create_health, alerts::delete_health, alerts::create_cost,
        alerts::delete_cost, alerts::create_security, alerts::delete_security,
        capacity::health, capacity::report,
        call_log_policy::get_policy, call_log_policy::set_policy,
        call_logs::search, call_logs::get_one, call_logs::export,
        sso::get_settings, sso::put_settings, sso::delete_settings,
        sso::list_rules, sso::create_rule, sso::delete_rule,
        sdk::config, usage_ingest::ingest, leases::lease, leases::return_lease,
        health::healthz, health::readyz, health::metrics,
        crate::gateway::chat::completions, crate::gateway::embeddings::create,
        crate::gateway::models::list, crate::gateway::models::retrieve,
    ),
    components(schemas(crate::error::ErrorBody, crate::gateway::ErrorEnvelope, crate::gateway::ErrorObject)),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default())
}

pub async fn openapi_json() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document())
}

pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

#[cfg(test)]
mod tests {
    use switchyard::sdk_protocol::{CONFIG_PATH, ConfigQuery};

    use super::*;
    use crate::api::extract::decode_query;

    /// The parameters documented for the SDK endpoint (literals, as utoipa requires) are
    /// the protocol's own: together they decode into [`ConfigQuery`].
    #[test]
    fn sdk_parameters_are_the_protocols() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let params = doc["paths"][CONFIG_PATH]["get"]["parameters"]
            .as_array()
            .unwrap();
        let query: Vec<String> = params
            .iter()
            .map(|p| format!("{}=1", p["name"].as_str().unwrap()))
            .collect();
        assert_eq!(query.len(), 2);
        let decoded = decode_query::<ConfigQuery>(&query.join("&")).unwrap();
        assert_eq!(
            (decoded.wait, decoded.etag.as_deref()),
            (Some(1), Some("1"))
        );
    }
}
