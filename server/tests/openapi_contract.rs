//! The OpenAPI document is the contract: every shape the server refuses for its shape is
//! refused by the document's own schema too, so a client generated from `/openapi.json`
//! cannot send a schema-valid request that is refused. Each case is sent to the real
//! router (it must be refused, naming the field) and checked against the schema (it must
//! not validate); every accepted fixture body must validate. A small validator of the
//! keywords the document uses keeps this free of a JSON Schema dependency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_server::api::ROUTES;
use switchyard_server::api::openapi::ApiDoc;
use utoipa::OpenApi;

use common::app::TestApp;
use common::sqlite_url;

/// Whether `v` satisfies `schema` (resolving `#/components/schemas/…` in `doc`).
fn valid(doc: &Value, schema: &Value, v: &Value) -> bool {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return valid(doc, &doc["components"]["schemas"][name], v);
    }
    if let Some(all) = schema["allOf"].as_array() {
        if !all.iter().all(|s| valid(doc, s, v)) {
            return false;
        }
    }
    if let Some(any) = schema["anyOf"].as_array() {
        if !any.iter().any(|s| valid(doc, s, v)) {
            return false;
        }
    }
    if let Some(one) = schema["oneOf"].as_array() {
        if one.iter().filter(|s| valid(doc, s, v)).count() != 1 {
            return false;
        }
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(v) {
            return false;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.is_empty()
        || types.iter().any(|t| match *t {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "null" => v.is_null(),
            _ => true,
        });
    if !type_ok {
        return false;
    }
    match v {
        Value::String(s) => {
            let n = s.chars().count() as u64;
            schema["minLength"].as_u64().is_none_or(|m| n >= m)
                && schema["maxLength"].as_u64().is_none_or(|m| n <= m)
                && schema["pattern"]
                    .as_str()
                    .is_none_or(|p| regex::Regex::new(p).unwrap().is_match(s))
        }
        Value::Number(num) => {
            let x = num.as_f64().unwrap();
            schema["minimum"].as_f64().is_none_or(|m| x >= m)
                && schema["maximum"].as_f64().is_none_or(|m| x <= m)
                && schema["exclusiveMinimum"].as_f64().is_none_or(|m| x > m)
                && schema["exclusiveMaximum"].as_f64().is_none_or(|m| x < m)
        }
        Value::Array(items) => {
            schema["minItems"]
                .as_u64()
                .is_none_or(|m| items.len() as u64 >= m)
                && items
                    .iter()
                    .all(|i| schema["items"].is_null() || valid(doc, &schema["items"], i))
        }
        Value::Object(map) => {
            let required_ok = schema["required"]
                .as_array()
                .is_none_or(|r| r.iter().all(|k| map.contains_key(k.as_str().unwrap())));
            let props = &schema["properties"];
            let closed = schema["additionalProperties"] == json!(false);
            required_ok
                && map.iter().all(|(k, val)| match props.get(k) {
                    Some(p) => valid(doc, p, val),
                    None => !closed,
                })
        }
        _ => true,
    }
}

fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap()
}

fn body_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in the document");
    &op["requestBody"]["content"]["application/json"]["schema"]
}

/// Shapes refused today: (method, path, field, value put into the route's fixture body).
const REFUSED: &[(&str, &str, &str, &str)] = &[
    ("POST", "/api/v1/departments", "name", r#""""#),
    ("POST", "/api/v1/departments", "name", r#""   ""#),
    ("POST", "/api/v1/departments", "name", r#""a\u0001b""#),
    ("PATCH", "/api/v1/departments/{id}", "name", r#""""#),
    ("POST", "/api/v1/apps", "name", r#""""#),
    ("PATCH", "/api/v1/apps/{id}", "name", r#""\t""#),
    ("POST", "/api/v1/apps/{id}/keys", "name", r#""""#),
    ("POST", "/api/v1/apps/{id}/keys", "expires_at", "-5"),
    ("POST", "/api/v1/users", "username", r#""""#),
    ("POST", "/api/v1/users", "password", r#""short""#),
    ("POST", "/api/v1/providers", "name", r#""""#),
    ("POST", "/api/v1/budgets", "name", r#""""#),
    ("POST", "/api/v1/budgets", "amount_usd", "0"),
    ("POST", "/api/v1/budgets", "amount_usd", "-1"),
    ("POST", "/api/v1/budgets", "amount_usd", "2e9"),
    ("POST", "/api/v1/budgets", "period", r#""year""#),
    ("POST", "/api/v1/budgets", "scope", r#""galaxy""#),
    ("POST", "/api/v1/budgets", "mode", r#""medium""#),
    ("POST", "/api/v1/budgets", "on_server_down", r#""maybe""#),
    ("POST", "/api/v1/rate-limits", "name", r#""""#),
    ("POST", "/api/v1/rate-limits", "tpm", "0"),
    ("POST", "/api/v1/rate-limits", "scope", r#""galaxy""#),
    ("PUT", "/api/v1/apps/{id}/call-logs", "content", r#""some""#),
    (
        "PUT",
        "/api/v1/apps/{id}/call-logs",
        "content",
        r#"{"sample": 2}"#,
    ),
    ("PUT", "/api/v1/apps/{id}/call-logs", "retention_days", "0"),
    ("PUT", "/api/v1/prices/{id}", "input", "-1"),
    ("PUT", "/api/v1/prices/{id}", "output", "2e6"),
    ("POST", "/api/v1/rollouts", "name", r#""""#),
    ("POST", "/api/v1/rollouts", "model", r#""""#),
    ("POST", "/api/v1/alert-channels", "name", r#""""#),
    ("POST", "/api/v1/alert-channels", "kind", r#""fax""#),
    ("POST", "/api/v1/alerts/health/rules", "name", r#""""#),
    ("POST", "/api/v1/alerts/health/rules", "channel_ids", "[]"),
    ("POST", "/api/v1/alerts/cost/rules", "channel_ids", "[]"),
    ("POST", "/api/v1/sso/rules", "group", r#""""#),
    ("POST", "/api/v1/tenants", "tenant", r#""""#),
    ("POST", "/api/v1/tenants", "password", r#""short""#),
];

#[tokio::test]
async fn every_refused_shape_is_refused_by_the_schema_and_accepted_bodies_validate() {
    let doc = document();
    let app = TestApp::new(&sqlite_url()).await;
    let mut failures = Vec::new();
    // Accepted fixture bodies are schema-valid: the schema is not stricter than the server.
    for (i, (method, path, _)) in ROUTES.iter().enumerate() {
        let fx = app.fixture_for(500 + i, path).await;
        if let Some(body) = fx.body_for(method, path) {
            if !valid(&doc, body_schema(&doc, method, path), &body) {
                failures.push(format!(
                    "{method} {path}: accepted body {body} fails the schema"
                ));
            }
        }
    }
    for (i, (method, path, field, bad)) in REFUSED.iter().enumerate() {
        let fx = app.fixture_for(900 + i, path).await;
        let mut body = fx.body_for(method, path).unwrap();
        body[*field] = serde_json::from_str(bad).unwrap();
        let uri = path.replace("{id}", fx.id_for(path));
        let (status, answer) = app
            .call(method, &uri, Some(&app.admin_a), Some(body.clone()))
            .await;
        if !status.is_client_error() || status == StatusCode::NOT_FOUND {
            failures.push(format!(
                "{method} {path} {body}: the server answered {status} {answer}"
            ));
        }
        if valid(&doc, body_schema(&doc, method, path), &body) {
            failures.push(format!(
                "{method} {path}: {field} = {bad} is schema-valid, refused {status}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every list's `limit`/`offset` carry the bounds the server enforces (1..=500, >= 0),
/// on every operation that has them, including routes added later.
#[tokio::test]
async fn every_page_parameter_is_bounded_as_the_server_bounds_it() {
    let doc = document();
    let app = TestApp::new(&sqlite_url()).await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let Some(params) = ops["get"]["parameters"].as_array() else {
            continue;
        };
        for p in params {
            let name = p["name"].as_str().unwrap();
            let bad = match name {
                "limit" => ["0", "501", "-1"].as_slice(),
                "offset" => ["-1"].as_slice(),
                _ => continue,
            };
            for value in bad {
                checked += 1;
                let v: Value = serde_json::from_str(value).unwrap();
                assert!(
                    !valid(&doc, &p["schema"], &v),
                    "{path} {name}={value} is schema-valid"
                );
                if path.contains('{') {
                    continue;
                }
                let (status, body) = app
                    .call(
                        "GET",
                        &format!("{path}?{name}={value}"),
                        Some(&app.admin_a),
                        None,
                    )
                    .await;
                // An export refuses pages altogether (400 naming `limit`).
                assert!(
                    matches!(
                        status,
                        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST
                    ) && body["field"].is_string(),
                    "{path}?{name}={value}: {status} {body}"
                );
            }
        }
    }
    assert!(checked >= 15 * 4, "{checked}");
}

/// Every request body's `name`-like field that the store checks as a name carries the
/// name rule: a new route's body cannot forget it silently.
#[test]
fn every_request_name_carries_the_name_rule() {
    let doc = document();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let Some(r) = schema["$ref"].as_str() else {
                continue;
            };
            let name = r.trim_start_matches("#/components/schemas/");
            let props = &doc["components"]["schemas"][name]["properties"];
            if let Some(p) = props.get("name") {
                checked += 1;
                assert_eq!(
                    p["minLength"], 1,
                    "{method} {path} ({name}): name has no minLength"
                );
                assert_eq!(
                    p["maxLength"], 200,
                    "{method} {path} ({name}): name has no maxLength"
                );
            }
        }
    }
    assert!(checked >= 15, "{checked}");
}
