//! Compares what happened with what a scenario expects, and says exactly what differs.

use std::collections::BTreeMap;

use serde_json::Value;
use switchyard_mock_provider::{Counters, RecordedRequest, UsageBody};

use std::time::Duration;

use switchyard::types::{FinishReason, ToolCall, Usage};
use switchyard::{CallMeta, Error};

use crate::scenario::{Expect, FinalExpect, RequestExpect, Step, UsageEventExpect};

/// What one call produced, in the terms the expectations use.
#[derive(Debug, Default)]
pub struct CallResult {
    pub error: Option<Error>,
    pub text: String,
    pub finish_reason: Option<FinishReason>,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Option<Usage>,
    pub meta: Option<CallMeta>,
    pub chunks: usize,
    pub restarted: bool,
    pub embeddings: Option<(usize, usize)>,
    pub models: Option<Vec<String>>,
    pub elapsed: Duration,
    /// The `user` option the call was made with.
    pub user: Option<String>,
}

fn same<T: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: &T,
    actual: &T,
) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

/// The checks on a call step's results: each call's `expect` (only the `ok` calls' when
/// `outcomes` counts them), `outcomes`, `total_cost_max_usd`, `deployment_counts` and
/// `sticky_by_user`.
pub fn step(step: &Step, results: &[CallResult]) -> Result<(), String> {
    for (i, result) in results.iter().enumerate() {
        if step.outcomes.is_none() {
            call(step.expect.as_ref(), result).map_err(|e| format!("call {i}: {e}"))?;
        }
    }
    if let Some(expected) = &step.outcomes {
        outcomes(expected, results)?;
        for result in results.iter().filter(|r| r.error.is_none()) {
            call(step.expect.as_ref(), result)?;
        }
    }
    if let Some(max) = step.total_cost_max_usd {
        let total: f64 = results
            .iter()
            .filter_map(|r| r.meta.as_ref())
            .map(|m| m.cost_usd)
            .sum();
        if total > max + 1e-12 {
            return Err(format!(
                "successful calls cost {total} USD in all, more than {max}"
            ));
        }
    }
    deployment_counts(&step.deployment_counts, results)?;
    if step.sticky_by_user {
        sticky_by_user(results)?;
    }
    Ok(())
}

pub fn call(expect: Option<&Expect>, result: &CallResult) -> Result<(), String> {
    let default = Expect::default();
    let expect = expect.unwrap_or(&default);
    match (&expect.error, &result.error) {
        (None, Some(error)) => return Err(format!("unexpected error: {error}")),
        (Some(e), None) => return Err(format!("expected a {} error, the call succeeded", e.kind)),
        (Some(e), Some(error)) => {
            same("error kind", &e.kind.as_str(), &error.code())
                .map_err(|m| format!("{m} ({error})"))?;
            if let Some(field) = &e.field {
                same("error field", &Some(field.as_str()), &error.field())?;
            }
            if let Some(rule) = &e.rule {
                same("error rule", &Some(rule.as_str()), &error.rule())?;
            }
            if let Some(status) = e.status {
                same("error status", &Some(status), &error.status())?;
            }
            if let Some(retryable) = e.retryable {
                same("error retryable", &retryable, &error.is_retryable())?;
            }
            if let Some(deployment) = &e.deployment {
                same(
                    "error deployment",
                    &Some(deployment.as_str()),
                    &error.deployment(),
                )?;
            }
            if let Some(part) = &e.message_contains {
                if !error.message().contains(part.as_str()) {
                    return Err(format!(
                        "error message {:?} lacks {part:?}",
                        error.message()
                    ));
                }
            }
            if let Some(min) = e.after_chunks_min {
                if result.chunks < min {
                    return Err(format!(
                        "error came after {} chunks, expected at least {min}",
                        result.chunks
                    ));
                }
            }
        }
        (None, None) => {}
    }
    if let Some(content) = &expect.content {
        same("content", content, &result.text)?;
    }
    if let Some(part) = &expect.content_contains {
        if !result.text.contains(part.as_str()) {
            return Err(format!("content {:?} lacks {part:?}", result.text));
        }
    }
    if let Some(reason) = &expect.finish_reason {
        same(
            "finish_reason",
            &Some(reason.as_str()),
            &result.finish_reason.as_ref().map(|r| r.as_str()),
        )?;
    }
    if let Some(calls) = &expect.tool_calls {
        same("tool call count", &calls.len(), &result.tool_calls.len())?;
        for (expected, actual) in calls.iter().zip(&result.tool_calls) {
            same("tool name", &expected.name, &actual.function.name)?;
            if actual.id.is_empty() {
                return Err("a tool call has no id".into());
            }
            if let Some(arguments) = &expected.arguments {
                let parsed: Value =
                    serde_json::from_str(&actual.function.arguments).map_err(|e| {
                        format!(
                            "tool arguments are not JSON ({e}): {}",
                            actual.function.arguments
                        )
                    })?;
                same("tool arguments", arguments, &parsed)?;
            }
        }
    }
    if let Some(usage) = &expect.usage {
        let actual = result.usage.clone().unwrap_or_default();
        let pairs = [
            ("prompt_tokens", usage.prompt_tokens, actual.prompt_tokens),
            (
                "completion_tokens",
                usage.completion_tokens,
                actual.completion_tokens,
            ),
            ("total_tokens", usage.total_tokens, actual.total_tokens),
            ("cached_tokens", usage.cached_tokens, actual.cached_tokens()),
        ];
        for (name, expected, actual) in pairs {
            if let Some(expected) = expected {
                same(name, &expected, &actual)?;
            }
        }
    }
    if let Some((count, dims)) = result.embeddings {
        if let Some(e) = &expect.embeddings {
            same("embedding count", &e.count, &count)?;
            if let Some(d) = e.dimensions {
                same("embedding dimensions", &d, &dims)?;
            }
        }
    } else if expect.embeddings.is_some() {
        return Err("expected embeddings, got none".into());
    }
    if let Some(models) = &expect.models {
        same("models", &Some(models.clone()), &result.models)?;
    }
    if let Some(min) = expect.chunks_min {
        if result.chunks < min {
            return Err(format!("{} chunks, expected at least {min}", result.chunks));
        }
    }
    if let Some(restarted) = expect.restarted {
        same("restarted", &restarted, &result.restarted)?;
    }
    let elapsed = result.elapsed.as_millis() as u64;
    if let Some(min) = expect.elapsed_ms_min {
        if elapsed < min {
            return Err(format!("took {elapsed} ms, expected at least {min}"));
        }
    }
    if let Some(max) = expect.elapsed_ms_max {
        if elapsed > max {
            return Err(format!("took {elapsed} ms, expected at most {max}"));
        }
    }
    let meta_checks = expect.deployment.is_some()
        || expect.model.is_some()
        || expect.attempts.is_some()
        || expect.cache_hit.is_some()
        || expect.fallback.is_some()
        || expect.fallback_taken.is_some()
        || expect.cost_usd.is_some();
    if !meta_checks {
        return Ok(());
    }
    let meta = result.meta.as_ref().ok_or("no call metadata")?;
    if let Some(deployment) = &expect.deployment {
        same("deployment", deployment, &meta.deployment)?;
    }
    if let Some(model) = &expect.model {
        same("model", model, &meta.model)?;
    }
    if let Some(attempts) = expect.attempts {
        same("attempts", &attempts, &meta.attempts)?;
    }
    if let Some(hit) = expect.cache_hit {
        same("cache_hit", &hit, &meta.cache_hit)?;
    }
    if let Some(fallback) = &expect.fallback {
        same("fallback", &Some(fallback.clone()), &meta.fallback)?;
    }
    if let Some(taken) = expect.fallback_taken {
        same("fallback taken", &taken, &meta.fallback.is_some())?;
    }
    if let Some(cost) = expect.cost_usd {
        if (cost - meta.cost_usd).abs() > 1e-9 + cost.abs() * 1e-6 {
            return Err(format!("cost_usd: expected {cost}, got {}", meta.cost_usd));
        }
    }
    Ok(())
}

/// For concurrent or repeated calls: the count of each outcome (`ok` or an error kind).
pub fn outcomes(expected: &BTreeMap<String, usize>, results: &[CallResult]) -> Result<(), String> {
    let mut actual: BTreeMap<String, usize> = BTreeMap::new();
    for result in results {
        let key = result.error.as_ref().map_or("ok", |e| e.code());
        *actual.entry(key.to_owned()).or_default() += 1;
    }
    same("outcomes", expected, &actual)
}

/// Successful calls per deployment, each within its inclusive `[min, max]`.
pub fn deployment_counts(
    expected: &BTreeMap<String, [usize; 2]>,
    results: &[CallResult],
) -> Result<(), String> {
    if expected.is_empty() {
        return Ok(());
    }
    let mut actual: BTreeMap<&str, usize> = BTreeMap::new();
    for meta in results
        .iter()
        .filter(|r| r.error.is_none())
        .filter_map(|r| r.meta.as_ref())
    {
        *actual.entry(meta.deployment.as_str()).or_default() += 1;
    }
    for (deployment, [min, max]) in expected {
        let n = actual.get(deployment.as_str()).copied().unwrap_or(0);
        if n < *min || n > *max {
            return Err(format!(
                "deployment {deployment} answered {n} calls, expected {min}..={max} (all: {actual:?})"
            ));
        }
    }
    Ok(())
}

/// Every user's successful calls were answered by a single deployment.
pub fn sticky_by_user(results: &[CallResult]) -> Result<(), String> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for result in results.iter().filter(|r| r.error.is_none()) {
        let (Some(user), Some(meta)) = (result.user.as_deref(), result.meta.as_ref()) else {
            return Err("sticky_by_user: a call has no user or no metadata".into());
        };
        let first = *seen.entry(user).or_insert(meta.deployment.as_str());
        if first != meta.deployment {
            return Err(format!(
                "user {user} was answered by {first} and by {}",
                meta.deployment
            ));
        }
    }
    Ok(())
}

pub fn final_state(
    expect: &FinalExpect,
    counters: &Counters,
    requests: &[RecordedRequest],
    usage: &[UsageBody],
) -> Result<(), String> {
    if let Some(total) = expect.upstream_calls {
        same("upstream calls", &total, &counters.total)?;
    }
    for (model, calls) in &expect.upstream_calls_by_model {
        same(
            &format!("upstream calls to {model}"),
            calls,
            &counters.models.get(model).copied().unwrap_or(0),
        )?;
    }
    for check in &expect.requests {
        request(check, requests)?;
    }
    let events: Vec<&Value> = usage.iter().flat_map(|b| &b.events).collect();
    for check in &expect.usage_events {
        usage_event(check, &events)?;
    }
    for text in &expect.usage_text_absent {
        if let Some(body) = usage.iter().find(|b| b.raw.contains(text.as_str())) {
            return Err(format!("{text:?} was shipped: {}", body.raw));
        }
    }
    Ok(())
}

/// Item `index` of `items` (-1 the last), or an error naming `what`.
fn pick<'a, T>(items: &'a [T], index: i64, what: &str) -> Result<&'a T, String> {
    let at = if index < 0 {
        items.len() as i64 + index
    } else {
        index
    };
    usize::try_from(at)
        .ok()
        .and_then(|i| items.get(i))
        .ok_or_else(|| format!("no {what} {index} (of {})", items.len()))
}

fn usage_event(expect: &UsageEventExpect, events: &[&Value]) -> Result<(), String> {
    let event = *pick(events, expect.index, "usage event")?;
    let at = format!("usage event {}", expect.index);
    if let Some(model) = &expect.model {
        same(
            &format!("{at} model"),
            &Some(model.as_str()),
            &event["model"].as_str(),
        )?;
    }
    if let Some(status) = &expect.status {
        let actual = match &event["status"] {
            Value::String(s) => s.clone(),
            other => other["error"]["code"].as_str().unwrap_or("?").to_owned(),
        };
        same(&format!("{at} status"), status, &actual)?;
    }
    if let Some(hit) = expect.cache_hit {
        same(
            &format!("{at} cache_hit"),
            &Some(hit),
            &event["cache_hit"].as_bool(),
        )?;
    }
    if let Some(local) = expect.local {
        same(
            &format!("{at} local"),
            &Some(local),
            &event["local"].as_bool(),
        )?;
    }
    let content = event.get("content").filter(|c| !c.is_null());
    if expect.content_absent && content.is_some() {
        return Err(format!("{at} should carry no content: {event}"));
    }
    if let Some(expected) = &expect.content {
        let content = content.ok_or_else(|| format!("{at} carries no content: {event}"))?;
        contains(expected, content, &format!("{at} content"))?;
    }
    if let Some(max) = expect.content_max_bytes {
        let content = content.ok_or_else(|| format!("{at} carries no content: {event}"))?;
        let bytes = serde_json::to_string(content).map_or(0, |json| json.len());
        if bytes > max {
            return Err(format!("{at} content is {bytes} bytes, above {max}"));
        }
    }
    Ok(())
}

fn request(expect: &RequestExpect, requests: &[RecordedRequest]) -> Result<(), String> {
    let recorded = pick(requests, expect.index, "recorded request")?;
    if let Some(path) = &expect.path {
        same("request path", path, &recorded.path)?;
    }
    for (name, value) in &expect.headers {
        same(
            &format!("request header {name}"),
            &Some(value.as_str()),
            &recorded.headers.get(name).map(String::as_str),
        )?;
    }
    for name in &expect.headers_absent {
        if recorded.headers.contains_key(name) {
            return Err(format!("request header {name} should be absent"));
        }
    }
    if let Some(body) = &expect.body {
        contains(body, &recorded.body, "body")?;
    }
    for field in &expect.body_absent {
        if recorded.body.get(field).is_some() {
            return Err(format!("request body field {field} should be absent"));
        }
    }
    Ok(())
}

/// `expected` ⊆ `actual`: objects by their keys, everything else exactly.
fn contains(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let inner = a
                    .get(key)
                    .ok_or_else(|| format!("{at}.{key} is missing in {actual}"))?;
                contains(value, inner, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                contains(ev, av, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, got {actual}")),
    }
}
