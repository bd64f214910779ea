//! What a usage event must be to be kept. The server reads a batch as raw JSON values
//! and checks each event on its own: a bad one is refused with its reason, the rest are
//! kept. The tenant and the app come from the app key; an event naming others is refused.

use std::collections::BTreeMap;

use serde_json::Value;
use switchyard::sdk_protocol::RejectedEvent;
use switchyard::telemetry::{CallStatus, UsageEvent};

/// The earliest event time accepted: 2020-01-01T00:00:00Z.
pub const MIN_TIME_MS: i64 = 1_577_836_800_000;
/// How far ahead of the server's clock an event may be stamped (clock skew).
pub const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;
/// The most tokens of one kind one call may report.
pub const MAX_TOKENS: u64 = 100_000_000;
/// The most one call may cost, in US dollars.
pub const MAX_COST_USD: f64 = 1_000_000.0;
/// The longest latency or time to first token, in milliseconds (a day).
pub const MAX_LATENCY_MS: f64 = 86_400_000.0;
/// The most attempts or fallbacks one call may report.
pub const MAX_ATTEMPTS: u32 = 1000;
/// The longest name (model, deployment, provider, user, arm, error code), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The most tags, and the longest tag.
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_CHARS: usize = 100;
/// The most metadata entries, the longest key and the longest value.
pub const MAX_METADATA: usize = 32;
pub const MAX_METADATA_KEY_CHARS: usize = 100;
pub const MAX_METADATA_VALUE_CHARS: usize = 1000;

/// The event times accepted: from the start of the raw retention period (an older event
/// could be a replay of one already pruned, which would count twice) or 2020, whichever is
/// later, to a day ahead of the server's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    pub fn at(now_ms: i64, retention_days: u32) -> Window {
        Window {
            from_ms: (now_ms - i64::from(retention_days) * 86_400_000).max(MIN_TIME_MS),
            to_ms: now_ms.saturating_add(MAX_FUTURE_MS),
        }
    }
}

/// Who sent the batch, as its app key proves it.
#[derive(Debug, Clone)]
pub struct Sender {
    pub tenant_id: String,
    pub tenant_name: String,
    pub department_id: String,
    pub app_id: String,
    pub app_name: String,
}

/// An event as it is stored: integers for money (micro-dollars) and durations
/// (microseconds), `""` for a missing deployment or provider.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEvent {
    pub id: String,
    pub time_ms: i64,
    pub user: Option<String>,
    pub model: String,
    pub deployment: String,
    pub provider: String,
    pub upstream_model: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub cost_micros: i64,
    pub latency_us: i64,
    pub ttft_us: Option<i64>,
    pub error_code: Option<String>,
    pub cache_hit: bool,
    pub local: bool,
    pub stream: bool,
    pub attempts: i64,
    pub fallbacks: i64,
    pub fallback: Option<String>,
    pub arm: Option<String>,
    pub tags: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    /// The lease the call was made under, checked to be the sender's
    /// (`api::usage_ingest`).
    pub lease: Option<String>,
    /// The guardrail a `policy_violation` names: each such event becomes a security
    /// event when first stored.
    pub rule: Option<String>,
}

struct Refusal {
    field: &'static str,
    reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        field,
        reason: reason.into(),
    }
}

/// Checks event `index` of a batch from `sender`, its time within `window`.
pub fn check(
    index: usize,
    value: Value,
    sender: &Sender,
    window: Window,
) -> Result<CheckedEvent, RejectedEvent> {
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| is_uuid(s))
        .map(str::to_ascii_lowercase);
    let event: UsageEvent = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        RejectedEvent {
            index,
            id: id.clone(),
            field: Some(path).filter(|p| p != "."),
            reason: e.into_inner().to_string(),
        }
    })?;
    check_typed(index, event, sender, window)
}

/// Checks event `index` already read as a [`UsageEvent`] (the fast path: a batch that
/// deserializes whole needs no per-event JSON values).
pub fn check_typed(
    index: usize,
    event: UsageEvent,
    sender: &Sender,
    window: Window,
) -> Result<CheckedEvent, RejectedEvent> {
    let id = Some(event.id.to_ascii_lowercase()).filter(|i| is_uuid(i));
    convert(event, sender, window).map_err(|r| RejectedEvent {
        index,
        id,
        field: Some(r.field.to_owned()),
        reason: r.reason,
    })
}

fn convert(e: UsageEvent, sender: &Sender, window: Window) -> Result<CheckedEvent, Refusal> {
    if !is_uuid(&e.id) {
        return Err(refuse("id", "must be a UUID"));
    }
    if let Some(t) = &e.tenant {
        if t != &sender.tenant_id && t != &sender.tenant_name {
            return Err(refuse("tenant", "names another tenant than the key's"));
        }
    }
    if let Some(a) = &e.app {
        if a != &sender.app_id && a != &sender.app_name {
            return Err(refuse("app", "names another app than the key's"));
        }
    }
    let time_ms = i64::try_from(e.time_ms).unwrap_or(i64::MAX);
    if time_ms < window.from_ms || time_ms > window.to_ms {
        return Err(refuse(
            "time_ms",
            "must be Unix milliseconds within the raw retention period and at most a day \
             ahead of the server",
        ));
    }
    let tokens = |field: &'static str, n: u64| {
        if n > MAX_TOKENS {
            Err(refuse(field, format!("must be at most {MAX_TOKENS}")))
        } else {
            Ok(n as i64)
        }
    };
    let prompt_tokens = tokens("prompt_tokens", e.prompt_tokens)?;
    let completion_tokens = tokens("completion_tokens", e.completion_tokens)?;
    let cached_tokens = tokens("cached_tokens", e.cached_tokens)?;
    if !(e.cost_usd.is_finite() && (0.0..=MAX_COST_USD).contains(&e.cost_usd)) {
        return Err(refuse(
            "cost_usd",
            format!("must be a number between 0 and {MAX_COST_USD}"),
        ));
    }
    let latency_us = duration_us("latency_ms", e.latency_ms)?;
    let ttft_us = e.ttft_ms.map(|t| duration_us("ttft_ms", t)).transpose()?;
    for (field, n) in [("attempts", e.attempts), ("fallbacks", e.fallbacks)] {
        if n > MAX_ATTEMPTS {
            return Err(refuse(field, format!("must be at most {MAX_ATTEMPTS}")));
        }
    }
    name("model", Some(e.model.as_str()))?;
    if e.model.is_empty() {
        return Err(refuse("model", "must not be empty"));
    }
    name("deployment", e.deployment.as_deref())?;
    name("provider", e.provider.as_deref())?;
    name("upstream_model", e.upstream_model.as_deref())?;
    name("user", e.user.as_deref())?;
    name("fallback", e.fallback.as_deref())?;
    name("arm", e.arm.as_deref())?;
    name("rule", e.rule.as_deref())?;
    let error_code = match e.status {
        CallStatus::Ok => None,
        CallStatus::Error { code } => {
            name("status.code", Some(code.as_str()))?;
            Some(code)
        }
    };
    if e.tags.len() > MAX_TAGS {
        return Err(refuse("tags", format!("at most {MAX_TAGS} tags")));
    }
    for tag in &e.tags {
        text("tags", tag, MAX_TAG_CHARS)?;
    }
    if e.metadata.len() > MAX_METADATA {
        return Err(refuse(
            "metadata",
            format!("at most {MAX_METADATA} entries"),
        ));
    }
    for (k, v) in &e.metadata {
        text("metadata", k, MAX_METADATA_KEY_CHARS)?;
        text("metadata", v, MAX_METADATA_VALUE_CHARS)?;
    }
    Ok(CheckedEvent {
        id: e.id.to_ascii_lowercase(),
        time_ms,
        user: e.user,
        model: e.model,
        deployment: e.deployment.unwrap_or_default(),
        provider: e.provider.unwrap_or_default(),
        upstream_model: e.upstream_model,
        prompt_tokens,
        completion_tokens,
        cached_tokens,
        cost_micros: (e.cost_usd * 1e6).round() as i64,
        latency_us,
        ttft_us,
        error_code: error_code.clone(),
        cache_hit: e.cache_hit,
        local: e.local,
        stream: e.stream,
        attempts: i64::from(e.attempts),
        fallbacks: i64::from(e.fallbacks),
        fallback: e.fallback,
        arm: e.arm,
        tags: e.tags,
        metadata: e.metadata,
        lease: e.lease,
        rule: e
            .rule
            .filter(|_| error_code.as_deref() == Some("policy_violation")),
    })
}

fn duration_us(field: &'static str, ms: f64) -> Result<i64, Refusal> {
    if ms.is_finite() && (0.0..=MAX_LATENCY_MS).contains(&ms) {
        Ok((ms * 1000.0).round() as i64)
    } else {
        Err(refuse(
            field,
            format!("must be a number of milliseconds between 0 and {MAX_LATENCY_MS}"),
        ))
    }
}

fn name(field: &'static str, value: Option<&str>) -> Result<(), Refusal> {
    match value {
        Some(v) => text(field, v, MAX_NAME_CHARS),
        None => Ok(()),
    }
}

/// Bounded, and free of NUL and other control characters (which PostgreSQL refuses in
/// text, and which no report should have to print).
fn text(field: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.chars().count() > max {
        return Err(refuse(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(refuse(field, "must not contain control characters"));
    }
    Ok(())
}

/// `8-4-4-4-12` hexadecimal digits, any version.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sender() -> Sender {
        Sender {
            tenant_id: "ten_1".into(),
            tenant_name: "acme".into(),
            department_id: "dep_1".into(),
            app_id: "app_1".into(),
            app_name: "billing".into(),
        }
    }

    fn event() -> Value {
        json!({
            "id": "0190A1B2-C3D4-7E5F-8a9b-0c1d2e3f4a5b", "time_ms": 1_800_000_000_000u64,
            "tenant": "ten_1", "app": "billing", "user": null, "model": "chat",
            "deployment": "openai/gpt-4o-mini", "provider": "openai", "upstream_model": null,
            "prompt_tokens": 10, "completion_tokens": 5, "cached_tokens": 0,
            "cost_usd": 0.0000125, "latency_ms": 120.5, "ttft_ms": null,
            "status": "ok", "cache_hit": false, "attempts": 1, "fallback": null,
            "local": false, "stream": false, "tags": ["a"], "metadata": {"k": "v"}
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut e = event();
        e[field] = value;
        e
    }

    const NOW: Window = Window {
        from_ms: 1_700_000_000_000,
        to_ms: 1_800_000_000_000,
    };

    #[test]
    fn a_good_event_is_kept_in_integers() {
        let e = check(0, event(), &sender(), NOW).unwrap();
        assert_eq!(e.id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        assert_eq!((e.cost_micros, e.latency_us), (13, 120_500));
        assert_eq!(e.error_code, None);
        let err = with("status", json!({"error": {"code": "timeout"}}));
        assert_eq!(
            check(0, err, &sender(), NOW).unwrap().error_code.as_deref(),
            Some("timeout")
        );
        // A rule is kept only on the policy violation that names it.
        let mut refused = with("status", json!({"error": {"code": "policy_violation"}}));
        refused["rule"] = json!("topic:legal-advice");
        let e = check(0, refused, &sender(), NOW).unwrap();
        assert_eq!(e.rule.as_deref(), Some("topic:legal-advice"));
        let stray = with("rule", json!("x"));
        assert_eq!(check(0, stray, &sender(), NOW).unwrap().rule, None);
    }

    #[test]
    fn bad_events_are_refused_with_their_field() {
        let cases = [
            ("id", json!("not-a-uuid"), "id"),
            ("prompt_tokens", json!(-1), "prompt_tokens"),
            ("prompt_tokens", json!(1.5), "prompt_tokens"),
            ("cost_usd", json!(1e300), "cost_usd"),
            ("cost_usd", json!(-0.1), "cost_usd"),
            ("latency_ms", json!("fast"), "latency_ms"),
            ("model", json!("a\u{0}b"), "model"),
            ("tenant", json!("ten_2"), "tenant"),
            ("app", json!("other"), "app"),
            ("status", json!("weird"), "status"),
            ("time_ms", json!(1000), "time_ms"),
            ("tags", json!(vec!["x"; 33]), "tags"),
            ("tags", json!(["x".repeat(101)]), "tags"),
        ];
        for (field, value, expected) in cases {
            let r = check(3, with(field, value.clone()), &sender(), NOW).unwrap_err();
            assert_eq!(r.index, 3);
            assert_eq!(r.field.as_deref(), Some(expected), "{field}={value}: {r:?}");
        }
        let r = check(0, with("rule", json!("a\u{7}")), &sender(), NOW).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("rule"));
        let r = check(0, json!([1]), &sender(), NOW).unwrap_err();
        assert!(r.id.is_none());
    }
}
