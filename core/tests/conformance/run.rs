//! Executes one scenario: a mock session with its script, a client with its config, the
//! steps in order, then the checks.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::{BoxFuture, join_all};
use serde_json::Value;
use switchyard::cache::CacheControl;
use switchyard::config::Config;
use switchyard::types::{ChatRequest, EmbeddingRequest, Usage};
use switchyard::validate::decode;
use switchyard::{CallOptions, Client, Error};
use switchyard_mock_provider::{MockServer, Script};

use crate::check::{self, CallResult};
use crate::scenario::{CallOptionsSpec, Op, Scenario, Step};

pub async fn scenario(mock: &MockServer, text: &str) -> Result<(), String> {
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
    let config = config_of(&scenario.config, &base)?;
    let client = Client::builder()
        .config(config)
        .build()
        .map_err(|e| format!("client: {e}"))?;
    for (i, step) in scenario.steps.iter().enumerate() {
        run_step(&client, step, &base)
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

fn config_of(value: &Value, base: &str) -> Result<Config, String> {
    Config::from_json_value(substitute(value, base)).map_err(|e| format!("config: {e}"))
}

/// The local model the `local_*` scenarios run: `SWITCHYARD_LOCAL_MODEL`, else the file
/// `make model` fetches.
pub fn local_model_path() -> String {
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

/// Replaces `{{mock}}` in every string with the session's base URL, and `{{local_model}}`
/// with the absolute path of the local model file.
fn substitute(value: &Value, base: &str) -> Value {
    match value {
        Value::String(s) if s.contains("{{local_model}}") => Value::String(
            s.replace("{{local_model}}", &local_model_path())
                .replace("{{mock}}", base),
        ),
        Value::String(s) => Value::String(s.replace("{{mock}}", base)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, base)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, base)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn run_step<'a>(
    client: &'a Client,
    step: &'a Step,
    base: &'a str,
) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        if let Some(ms) = step.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        match step.op {
            Op::Sleep => {
                tokio::time::sleep(Duration::from_millis(step.ms.unwrap_or(0))).await;
                Ok(())
            }
            Op::Parallel => {
                let results = join_all(step.steps.iter().map(|s| run_step(client, s, base))).await;
                results
                    .into_iter()
                    .collect::<Result<Vec<()>, String>>()
                    .map(|_| ())
            }
            Op::Flush => {
                client.flush().await;
                Ok(())
            }
            Op::Reload => {
                let value = step.config.as_ref().ok_or("reload needs `config`")?;
                let outcome = Config::from_json_value(substitute(value, base))
                    .map_err(Error::from)
                    .and_then(|c| client.reload(c));
                let result = CallResult {
                    error: outcome.err(),
                    ..CallResult::default()
                };
                check::call(step.expect.as_ref(), &result)
            }
            Op::Chat | Op::Stream | Op::Embed | Op::Models => {
                let mut results = Vec::new();
                for r in 0..step.repeat {
                    let batch = join_all((0..step.concurrent).map(|c| {
                        let options = options_of(&step.options, r * step.concurrent + c, c);
                        async move { call(client, step, options).await }
                    }))
                    .await;
                    results.extend(batch);
                }
                check::step(step, &results)
            }
        }
    })
}

async fn call(client: &Client, step: &Step, options: CallOptions) -> CallResult {
    let started = Instant::now();
    let mut result = match step.op {
        Op::Chat => chat(client, step, &options).await,
        Op::Stream => stream(client, step, &options).await,
        Op::Embed => embed(client, step, &options).await,
        Op::Models => CallResult {
            models: Some(client.models().data.into_iter().map(|m| m.id).collect()),
            ..CallResult::default()
        },
        _ => CallResult::default(),
    };
    result.elapsed = started.elapsed();
    result.user = options.user;
    result
}

fn failed(error: Error) -> CallResult {
    CallResult {
        error: Some(error),
        ..CallResult::default()
    }
}

async fn chat(client: &Client, step: &Step, options: &CallOptions) -> CallResult {
    let request: ChatRequest = match decode(step.request.clone()) {
        Ok(request) => request,
        Err(error) => return failed(error),
    };
    match client.chat(request, options).await {
        Err(error) => failed(error),
        Ok(outcome) => {
            let choice = outcome.response.choices.first();
            CallResult {
                text: outcome.response.text(),
                finish_reason: choice.and_then(|c| c.finish_reason.clone()),
                tool_calls: choice
                    .and_then(|c| c.message.tool_calls.clone())
                    .unwrap_or_default(),
                usage: outcome.response.usage.clone(),
                meta: Some(outcome.meta),
                ..CallResult::default()
            }
        }
    }
}

async fn stream(client: &Client, step: &Step, options: &CallOptions) -> CallResult {
    let request: ChatRequest = match decode(step.request.clone()) {
        Ok(request) => request,
        Err(error) => return failed(error),
    };
    let mut stream = match client.chat_stream(request, options).await {
        Ok(stream) => stream,
        Err(error) => return failed(error),
    };
    let mut result = CallResult::default();
    let mut assembler = switchyard::stream::Assembler::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => {
                if chunk.extra.get("switchyard").and_then(|s| s.get("restart"))
                    == Some(&Value::Bool(true))
                {
                    result.restarted = true;
                    assembler = switchyard::stream::Assembler::new();
                    continue;
                }
                result.chunks += 1;
                assembler.push(&chunk);
                if step.options.abandon_after_chunks == Some(result.chunks) {
                    break;
                }
            }
            Err(error) => {
                result.error = Some(error);
                break;
            }
        }
    }
    let meta = stream.meta();
    drop(stream);
    let response = assembler.finish();
    let choice = response.choices.first();
    result.text = response.text();
    result.finish_reason = choice.and_then(|c| c.finish_reason.clone());
    result.tool_calls = choice
        .and_then(|c| c.message.tool_calls.clone())
        .unwrap_or_default();
    result.usage = response.usage.clone();
    result.meta = Some(meta);
    result
}

async fn embed(client: &Client, step: &Step, options: &CallOptions) -> CallResult {
    let request: EmbeddingRequest = match decode(step.request.clone()) {
        Ok(request) => request,
        Err(error) => return failed(error),
    };
    match client.embed(request, options).await {
        Err(error) => failed(error),
        Ok(outcome) => {
            let dims = outcome
                .response
                .data
                .first()
                .map_or(0, |e| e.embedding.len());
            CallResult {
                embeddings: Some((outcome.response.data.len(), dims)),
                usage: Some(Usage::new(outcome.response.usage.prompt_tokens, 0)),
                meta: Some(outcome.meta),
                ..CallResult::default()
            }
        }
    }
}

/// The options of call `index` of a step (`copy`: its index within its concurrent batch).
fn options_of(spec: &CallOptionsSpec, index: usize, copy: usize) -> CallOptions {
    let user = match &spec.user_template {
        Some(template) => Some(
            template
                .replace("{i}", &index.to_string())
                .replace("{c}", &copy.to_string()),
        ),
        None => spec.user.clone(),
    };
    CallOptions {
        timeout: spec.timeout_ms.map(Duration::from_millis),
        user,
        session: spec.session.clone(),
        tenant: spec.tenant.clone(),
        app: spec.app.clone(),
        tags: spec.tags.clone(),
        metadata: spec.metadata.clone(),
        cache: match spec.cache.as_deref() {
            Some("bypass") => CacheControl::Bypass,
            Some("refresh") => CacheControl::Refresh,
            Some("enable") => CacheControl::Enable,
            _ => CacheControl::Default,
        },
        deployment: spec.deployment.clone(),
        max_retries: None,
    }
}
