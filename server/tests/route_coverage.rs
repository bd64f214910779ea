//! No route escapes the security tests: the routes the router is built with (read from its
//! source, the only place they are listed) are exactly the OpenAPI document's operations,
//! and every operation that takes a user's bearer token is in [`ROUTES`], the table the
//! route × role matrix and the cross-tenant probes walk (`rbac_matrix.rs`). A route added
//! without a row there fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use switchyard::sdk_protocol::{CONFIG_PATH, LEASE_RETURN_PATH, LEASES_PATH, USAGE_PATH};
use switchyard_server::api::ROUTES;
use switchyard_server::api::openapi::ApiDoc;
use utoipa::OpenApi;

/// Operations a signed-in user may call whatever their roles: no permission to check.
const ANY_PRINCIPAL: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/auth/logout"),
];

/// Served beside the API, not part of it: the document itself, its page, the console.
const NOT_OPERATIONS: &[&str] = &["/openapi.json", "/docs"];

/// `(METHOD, path)` of every `.route(path, method(handler)…)` in `source`, each path
/// prefixed with `prefix`; path constants of the SDK protocol resolved.
fn routes_in(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let route = regex::Regex::new(
        r#"\.route\(\s*("[^"]*"|[A-Z_]+),\s*((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)"#,
    )
    .unwrap();
    let method = regex::Regex::new(r"\b(get|post|put|patch|delete)\(").unwrap();
    let mut out = BTreeSet::new();
    for c in route.captures_iter(source) {
        let path = match &c[1] {
            "CONFIG_PATH" => CONFIG_PATH.to_owned(),
            "USAGE_PATH" => USAGE_PATH.to_owned(),
            "LEASES_PATH" => LEASES_PATH.to_owned(),
            "LEASE_RETURN_PATH" => LEASE_RETURN_PATH.to_owned(),
            quoted if quoted.starts_with('"') => format!("{prefix}{}", quoted.trim_matches('"')),
            other => panic!("unknown path constant {other}"),
        };
        for m in method.captures_iter(&c[2]) {
            out.insert((m[1].to_uppercase(), path.clone()));
        }
    }
    out
}

fn source(path: &str) -> String {
    std::fs::read_to_string(format!("{}/src/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn the_router_the_document_and_the_matrix_list_the_same_routes() {
    let api = source("api/mod.rs");
    let start = api.find("pub fn router(").unwrap();
    let body = &api[start..];
    let (nested, top) = body.split_at(body.find(".nest(\"/api/v1\"").unwrap());
    let mut routed = routes_in(nested, "/api/v1");
    routed.extend(routes_in(top, ""));
    routed.extend(routes_in(&source("gateway.rs"), "/v1"));
    routed.retain(|(_, p)| !NOT_OPERATIONS.contains(&p.as_str()));
    assert!(
        routed.len() > 100,
        "{} routes parsed: the parser is broken",
        routed.len()
    );

    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    let mut bearer = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let key = (method.to_uppercase(), path.clone());
            if path.starts_with("/api/v1/") && !op["security"].is_null() {
                bearer.insert(key.clone());
            }
            documented.insert(key);
        }
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not in /openapi.json: {undocumented:?}\nin /openapi.json but not routed: {unrouted:?}"
    );

    let matrix: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .chain(
            ANY_PRINCIPAL
                .iter()
                .map(|(m, p)| ((*m).to_owned(), (*p).to_owned())),
        )
        .collect();
    let missing: Vec<_> = bearer.difference(&matrix).collect();
    let stale: Vec<_> = matrix.difference(&bearer).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "taking a user's token but missing from api::ROUTES (the matrix and the \
         cross-tenant probes): {missing:?}\nin ROUTES but not a bearer operation: {stale:?}"
    );
}
