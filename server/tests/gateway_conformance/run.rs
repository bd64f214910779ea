//! One scenario over HTTP: a tenant whose active config is the scenario's, an app key, and
//! each call sent to the gateway as an OpenAI client sends it. What comes back becomes the
//! `CallResult` core's checks read: the body, the `x-switchyard-*` headers as the call
//! info, an OpenAI error body as the engine's error kind.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use futures_util::future::{BoxFuture, join_all};
use serde_json::{Value, json};
use switchyard::types::{ChatChunk, ChatResponse, Usage};
use switchyard::{CallMeta, Error, ErrorKind};
use switchyard_mock_provider::{MockServer, Script};
use tower::ServiceExt;

use crate::check::{self, CallResult};
use crate::common::app::TestApp;
use crate::common::sqlite_url;
use crate::scenario::{Op, Scenario, Step};

/// Why a scenario cannot run over HTTP, if it cannot.
pub fn not_over_http(name: &str, text: &str) -> Option<String> {
    let scenario: Scenario = serde_norway::from_str(text).ok()?;
    if scenario.steps.iter().any(charges_another) {
        return Some(
            "charges a call to another tenant or app: over HTTP the app key decides, and the \
             gateway refuses those options"
                .into(),
        );
    }
    if scenario.steps.iter().any(expects_upstream_status) {
        return Some(
            "expects the provider's own status, which the gateway answers as 502 (only 404, 409 \
             and 422 pass through)"
                .into(),
        );
    }
    if let Some(reason) = SKIPPED.iter().find(|(n, _)| *n == name).map(|(_, r)| *r) {
        return Some(reason.into());
    }
    None
}

/// Scenarios that rely on what the HTTP surface does not carry, by name.
const SKIPPED: &[(&str, &str)] = &[
    (
        "stream_cut_continue",
        "the deployment header leaves with the first chunk; the continuation comes from another deployment after it",
    ),
    (
        "stream_cut_restart",
        "the deployment header leaves with the first chunk; the restart moves to another deployment after it",
    ),
    (
        "errors_env_reference_unset",
        "a ${VAR} is resolved by each process that builds a client from the config, in its own environment: the server stores the reference and activation accepts it",
    ),
];

fn charges_another(step: &Step) -> bool {
    step.options.tenant.is_some()
        || step.options.app.is_some()
        || step.steps.iter().any(charges_another)
}

fn expects_upstream_status(step: &Step) -> bool {
    let passed_through = |s: u16| matches!(s, 404 | 409 | 422);
    step.expect
        .as_ref()
        .and_then(|e| e.error.as_ref())
        .is_some_and(|e| {
            e.status
                .is_some_and(|s| !passed_through(s) && (s >= 500 || e.kind == "upstream"))
        })
        || step.steps.iter().any(expects_upstream_status)
}

struct Tenant {
    app: TestApp,
    key: String,
}

pub async fn scenario(mock: &MockServer, text: &str) -> Result<(), String> {
    if text.contains("{{local_model}}") && !Path::new(&local_model_path()).is_file() {
        return Err(format!(
            "local model {} is missing: run `make model`",
            local_model_path()
        ));
    }
    let scenario: Scenario =
        serde_norway::from_str(text).map_err(|e| format!("scenario file: {e}"))?;
    run_scenario(mock, &scenario)
        .await
        .map_err(|e| format!("{e}\n  scenario: {}", scenario.description))
}

async fn run_scenario(mock: &MockServer, scenario: &Scenario) -> Result<(), String> {
    let script = if scenario.mock.is_null() {
        Script::default()
    } else {
        Script::from_json_value(scenario.mock.clone()).map_err(|e| format!("mock script: {e}"))?
    };
    let session = mock.session(script);
    let base = session.url();
    let app = TestApp::new(&sqlite_url()).await;
    let config = credentials_to_store(&app, substitute(&scenario.config, &base)).await?;
    let (status, body) = activate(&app, config).await;
    if !status.is_success() {
        return Err(format!("the scenario's config was refused: {body}"));
    }
    let key = app.app_key("conformance", None).await;
    let tenant = Tenant { app, key };
    for (i, step) in scenario.steps.iter().enumerate() {
        run_step(&tenant, step, &base)
            .await
            .map_err(|e| format!("step {i} ({:?}): {e}", step.op))?;
    }
    if let Some(expect) = &scenario.expect {
        check::final_state(
            expect,
            &session.counters(),
            &session.requests(),
            &session.usage(),
        )?;
    }
    Ok(())
}

/// Config versions hold no literal keys: each moves to the provider's sealed credential,
/// which the gateway fills back in server-side (the path a real tenant takes).
async fn credentials_to_store(app: &TestApp, mut config: Value) -> Result<Value, String> {
    let admin = Some(app.admin_a.as_str());
    let Some(providers) = config["providers"].as_object_mut() else {
        return Ok(config);
    };
    for (name, provider) in providers.iter_mut() {
        let Some(key) = provider["api_key"].as_str().map(str::to_owned) else {
            continue;
        };
        if key.starts_with("${") {
            continue;
        }
        provider.as_object_mut().map(|p| p.remove("api_key"));
        let body = json!({"name": name, "kind": provider["kind"], "credential": key});
        let (status, answer) = app
            .call("POST", "/api/v1/providers", admin, Some(body))
            .await;
        if status != StatusCode::CREATED {
            return Err(format!("provider {name}: {answer}"));
        }
    }
    Ok(config)
}

/// Stores and activates `document`: the status and body of the first refusal, if any.
async fn activate(app: &TestApp, document: Value) -> (StatusCode, Value) {
    let admin = Some(app.admin_a.as_str());
    let (status, version) = app
        .call(
            "POST",
            "/api/v1/configs",
            admin,
            Some(json!({"document": document})),
        )
        .await;
    if status != StatusCode::CREATED {
        return (status, version);
    }
    let id = version["id"].as_str().unwrap_or_default();
    app.call(
        "POST",
        &format!("/api/v1/configs/{id}/activate"),
        admin,
        None,
    )
    .await
}

/// The local model the `local_*` scenarios run, loaded by the gateway inside the server:
/// `SWITCHYARD_LOCAL_MODEL`, else the file `make model` fetches.
fn local_model_path() -> String {
    std::env::var("SWITCHYARD_LOCAL_MODEL")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../models/SmolLM2-135M-Instruct.Q4_1.gguf"
            )
            .to_owned()
        })
}

fn substitute(value: &Value, base: &str) -> Value {
    match value {
        Value::String(s) => Value::String(
            s.replace("{{mock}}", base)
                .replace("{{local_model}}", &local_model_path()),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, base)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, base)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn run_step<'a>(t: &'a Tenant, step: &'a Step, base: &'a str) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        if let Some(ms) = step.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        match step.op {
            Op::Sleep => {
                tokio::time::sleep(Duration::from_millis(step.ms.unwrap_or(0))).await;
                Ok(())
            }
            Op::Parallel => join_all(step.steps.iter().map(|s| run_step(t, s, base)))
                .await
                .into_iter()
                .collect::<Result<Vec<()>, String>>()
                .map(|_| ()),
            // The call-log scenarios (`scenarios-next/`) are not run against the gateway yet.
            Op::Flush => Err("the gateway runner does not implement `flush`".to_owned()),
            Op::Reload => {
                // A reload over HTTP is an activation; a refused config is the server's 4xx.
                let value = step.config.as_ref().ok_or("reload needs `config`")?;
                let (status, body) = activate(&t.app, substitute(value, base)).await;
                let error = (!status.is_success()).then(|| {
                    let path = body["field"].as_str().unwrap_or_default();
                    let path = path.strip_prefix("document.").unwrap_or(path).to_owned();
                    Error::new(ErrorKind::Config { path }, body.to_string())
                });
                check::call(
                    step.expect.as_ref(),
                    &CallResult {
                        error,
                        ..CallResult::default()
                    },
                )
            }
            Op::Chat | Op::Stream | Op::Embed | Op::Models => {
                let mut results = Vec::new();
                for r in 0..step.repeat {
                    let batch = (0..step.concurrent).map(|c| {
                        let (options, user) = options_of(step, r * step.concurrent + c, c);
                        async move {
                            let mut result = call(t, step, options).await;
                            result.user = user;
                            result
                        }
                    });
                    results.extend(join_all(batch).await);
                }
                check::step(step, &results)
            }
        }
    })
}

/// Call `index`'s options as the `x-switchyard-options` header's JSON (`copy`: its index
/// within its concurrent batch), and the user it names.
fn options_of(step: &Step, index: usize, copy: usize) -> (Option<String>, Option<String>) {
    let spec = &step.options;
    let user = match &spec.user_template {
        Some(template) => Some(
            template
                .replace("{i}", &index.to_string())
                .replace("{c}", &copy.to_string()),
        ),
        None => spec.user.clone(),
    };
    let mut options = serde_json::Map::new();
    let mut put = |name: &str, value: Value| {
        options.insert(name.to_owned(), value);
    };
    if let Some(ms) = spec.timeout_ms {
        put("timeout", json!(ms as f64 / 1000.0));
    }
    if let Some(user) = &user {
        put("user", json!(user));
    }
    if let Some(session) = &spec.session {
        put("session", json!(session));
    }
    if !spec.tags.is_empty() {
        put("tags", json!(spec.tags));
    }
    if !spec.metadata.is_empty() {
        put("metadata", json!(spec.metadata));
    }
    if let Some(cache) = &spec.cache {
        put("cache", json!(cache));
    }
    if let Some(deployment) = &spec.deployment {
        put("deployment", json!(deployment));
    }
    let header = (!options.is_empty()).then(|| Value::Object(options).to_string());
    (header, user)
}

async fn call(t: &Tenant, step: &Step, options: Option<String>) -> CallResult {
    let started = Instant::now();
    let (method, path, body) = match step.op {
        Op::Chat => ("POST", "/v1/chat/completions", Some(step.request.clone())),
        Op::Stream => {
            let mut request = step.request.clone();
            if let Some(object) = request.as_object_mut() {
                object.insert("stream".into(), Value::Bool(true));
            }
            ("POST", "/v1/chat/completions", Some(request))
        }
        Op::Embed => ("POST", "/v1/embeddings", Some(step.request.clone())),
        _ => ("GET", "/v1/models", None),
    };
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", t.key));
    if let Some(options) = options {
        builder = builder.header("x-switchyard-options", options);
    }
    let body = match body {
        Some(value) => {
            builder = builder.header("content-type", "application/json");
            Body::from(value.to_string())
        }
        None => Body::empty(),
    };
    let response = t
        .app
        .router
        .clone()
        .oneshot(builder.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    if let (Some(chunks), true) = (step.options.abandon_after_chunks, status.is_success()) {
        let mut result = abandon(response.into_body(), chunks, &headers).await;
        result.elapsed = started.elapsed();
        return result;
    }
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut result = if !status.is_success() {
        failed(error_of(status, &headers, &bytes))
    } else {
        match step.op {
            Op::Chat => chat(&bytes, &headers),
            Op::Stream => stream(&bytes, &headers),
            Op::Embed => embed(&bytes, &headers),
            _ => models(&bytes),
        }
    };
    result.elapsed = started.elapsed();
    result
}

/// Reads a stream's events until `chunks` chunks have come, then drops the body, as a
/// client that stops reading and closes the connection does.
async fn abandon(body: Body, chunks: usize, headers: &HeaderMap) -> CallResult {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut text = String::new();
    let mut result = CallResult::default();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.unwrap().into_data() else {
            continue;
        };
        text.push_str(&String::from_utf8_lossy(&data));
        let events = text.matches("\n\n").count();
        if events >= chunks {
            result.chunks = events;
            break;
        }
    }
    drop(body);
    result.meta = Some(meta(headers));
    result
}

fn failed(error: Error) -> CallResult {
    CallResult {
        error: Some(error),
        ..CallResult::default()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The call info the `x-switchyard-*` headers carry.
fn meta(headers: &HeaderMap) -> CallMeta {
    CallMeta {
        model: header(headers, "x-switchyard-model")
            .unwrap_or_default()
            .to_owned(),
        deployment: header(headers, "x-switchyard-deployment")
            .unwrap_or_default()
            .to_owned(),
        attempts: header(headers, "x-switchyard-attempts")
            .and_then(|a| a.parse().ok())
            .unwrap_or_default(),
        cache_hit: header(headers, "x-switchyard-cache") == Some("hit"),
        fallback: header(headers, "x-switchyard-fallback").map(str::to_owned),
        cost_usd: header(headers, "x-switchyard-cost-usd")
            .and_then(|c| c.parse().ok())
            .unwrap_or_default(),
        ..CallMeta::default()
    }
}

/// The engine's error back from OpenAI's shape: the kind from `code` (and `type`), the
/// field from `param`, the wait from `Retry-After`.
fn error_from_body(status: StatusCode, headers: &HeaderMap, body: &Value) -> Error {
    let error = &body["error"];
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    let param = error["param"].as_str().map(str::to_owned);
    let retry_after = header(headers, "retry-after")
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let kind = match (error["code"].as_str(), error["type"].as_str()) {
        (Some("rate_limit_exceeded"), _) => ErrorKind::RateLimited { retry_after },
        (Some("insufficient_quota"), _) => ErrorKind::BudgetExceeded {
            budget: message
                .split_once('(')
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(b, _)| b.to_owned())
                .unwrap_or_default(),
        },
        (Some("context_length_exceeded"), _) => ErrorKind::ContextWindowExceeded,
        (Some("content_policy_violation"), _) => ErrorKind::ContentPolicy,
        (Some("upstream"), _) => ErrorKind::Upstream {
            status: status.as_u16(),
        },
        (Some("upstream_auth"), _) => ErrorKind::Auth,
        (Some("network"), _) => ErrorKind::Network,
        (Some("timeout"), _) => ErrorKind::Timeout,
        (Some("unavailable"), _) => ErrorKind::Unavailable,
        (Some("overloaded"), _) => ErrorKind::Overloaded,
        (Some("config"), _) => ErrorKind::Config {
            path: param.clone().unwrap_or_default(),
        },
        (Some("policy_violation"), _) => ErrorKind::PolicyViolation {
            rule: error["rule"].as_str().unwrap_or_default().to_owned(),
        },
        (Some("model_not_found"), _) => ErrorKind::BadRequest {
            field: Some("model".into()),
        },
        (_, Some("invalid_request_error")) => ErrorKind::BadRequest { field: param },
        _ => ErrorKind::Internal,
    };
    let mut error = Error::new(kind, message);
    if let Some(deployment) = header(headers, "x-switchyard-deployment") {
        error = error.with_deployment(deployment);
    }
    error
}

fn error_of(status: StatusCode, headers: &HeaderMap, bytes: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(body) => error_from_body(status, headers, &body),
        Err(_) => Error::internal(format!("HTTP {status}: not JSON")),
    }
}

fn chat(bytes: &[u8], headers: &HeaderMap) -> CallResult {
    let response: ChatResponse = match serde_json::from_slice(bytes) {
        Ok(r) => r,
        Err(e) => return failed(Error::internal(format!("chat body: {e}"))),
    };
    let choice = response.choices.first();
    CallResult {
        text: response.text(),
        finish_reason: choice.and_then(|c| c.finish_reason.clone()),
        tool_calls: choice
            .and_then(|c| c.message.tool_calls.clone())
            .unwrap_or_default(),
        usage: response.usage.clone(),
        meta: Some(meta(headers)),
        ..CallResult::default()
    }
}

fn stream(bytes: &[u8], headers: &HeaderMap) -> CallResult {
    let text = String::from_utf8_lossy(bytes);
    let mut result = CallResult::default();
    let mut assembler = switchyard::stream::Assembler::new();
    let mut done = false;
    for data in text.split("\n\n").filter_map(|e| e.strip_prefix("data: ")) {
        if data == "[DONE]" {
            done = true;
            break;
        }
        let value: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => return failed(Error::internal(format!("stream event: {e}"))),
        };
        if value.get("error").is_some() {
            result.error = Some(error_from_body(StatusCode::OK, headers, &value));
            break;
        }
        if value["switchyard"]["restart"] == Value::Bool(true) {
            result.restarted = true;
            assembler = switchyard::stream::Assembler::new();
            continue;
        }
        match serde_json::from_value::<ChatChunk>(value) {
            Ok(chunk) => {
                result.chunks += 1;
                assembler.push(&chunk);
            }
            Err(e) => return failed(Error::internal(format!("chunk: {e}"))),
        }
    }
    if !done && result.error.is_none() {
        result.error = Some(Error::internal(
            "the stream ended without [DONE] or an error",
        ));
    }
    let response = assembler.finish();
    let choice = response.choices.first();
    result.text = response.text();
    result.finish_reason = choice.and_then(|c| c.finish_reason.clone());
    result.tool_calls = choice
        .and_then(|c| c.message.tool_calls.clone())
        .unwrap_or_default();
    result.usage = response.usage.clone();
    result.meta = Some(meta(headers));
    result
}

fn embed(bytes: &[u8], headers: &HeaderMap) -> CallResult {
    let value: Value = serde_json::from_slice(bytes).unwrap_or_default();
    let data = value["data"].as_array().cloned().unwrap_or_default();
    let dims = data
        .first()
        .and_then(|d| d["embedding"].as_array())
        .map_or(0, Vec::len);
    CallResult {
        embeddings: Some((data.len(), dims)),
        usage: Some(Usage::new(
            value["usage"]["prompt_tokens"].as_u64().unwrap_or_default(),
            0,
        )),
        meta: Some(meta(headers)),
        ..CallResult::default()
    }
}

fn models(bytes: &[u8]) -> CallResult {
    let value: Value = serde_json::from_slice(bytes).unwrap_or_default();
    CallResult {
        models: Some(
            value["data"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|m| m["id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        ..CallResult::default()
    }
}
