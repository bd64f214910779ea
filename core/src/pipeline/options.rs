//! What a caller may say per call, and what it is told back beside the answer. Both are
//! serde data with the same field names in every binding (`docs/bindings.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::cache::CacheControl;
use crate::error::Result;
use crate::types::{ChatResponse, EmbeddingResponse};

/// Per-call options. All optional: `CallOptions::default()` is a plain call. A binding
/// sends them as one JSON object ([`CallOptions::from_json`]); `null` means unset.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallOptions {
    /// Overall time limit of the call, all attempts and fallbacks included. Overrides the
    /// model's `deadline_ms`. On the wire: seconds, a number > 0.
    #[serde(deserialize_with = "seconds")]
    pub timeout: Option<Duration>,
    /// Who the call is for: budgets, limits, usage and rollout stickiness use it. Defaults
    /// to the request's `user` field.
    pub user: Option<String>,
    /// The rollout stickiness key when the model's rollout is sticky by session.
    pub session: Option<String>,
    /// Charge the call to this tenant / app instead of the client's identity.
    pub tenant: Option<String>,
    pub app: Option<String>,
    /// Tags for budgets by tag, and for usage reports.
    #[serde(deserialize_with = "or_default")]
    pub tags: Vec<String>,
    /// Free-form labels carried into the usage event (never sent upstream).
    #[serde(deserialize_with = "or_default")]
    pub metadata: BTreeMap<String, String>,
    pub cache: CacheControl,
    /// Send the call to this deployment of the model only (by name), skipping routing.
    pub deployment: Option<String>,
    /// At most this many retries on each model the call reaches (a cap on the model's
    /// `retry.max_attempts`, never a raise); `0` tries each model once. Fallbacks still
    /// apply. The `openai` packages' `max_retries`.
    pub max_retries: Option<u32>,
}

impl CallOptions {
    /// Options from their JSON form (`null` for none). A mistyped or unknown option is a
    /// `bad_request` naming it.
    pub fn from_json(value: serde_json::Value) -> Result<CallOptions> {
        if value.is_null() {
            return Ok(CallOptions::default());
        }
        crate::validate::decode(value)
    }
}

/// A duration in seconds: a finite number > 0, or `null`.
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let Some(secs) = Option::<f64>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(de::Error::custom("must be a number of seconds > 0"));
    }
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(de::Error::custom)
}

/// `null` as the empty value.
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

/// What the pipeline did for a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallMeta {
    /// The logical model that answered (differs from the requested one after a fallback).
    pub model: String,
    pub deployment: String,
    pub provider: String,
    pub upstream_model: String,
    /// Upstream attempts made, across retries and fallbacks (0 for a cache hit).
    pub attempts: u32,
    pub cache_hit: bool,
    /// The fallback model the call moved to, if it did.
    pub fallback: Option<String>,
    pub cost_usd: f64,
    /// On the wire: `latency_ms`, a number.
    #[serde(rename = "latency_ms", serialize_with = "millis")]
    pub latency: Duration,
    /// Answered by the in-process model.
    pub local: bool,
}

/// A chat answer and how it was obtained.
#[derive(Debug, Clone)]
pub struct ChatOutcome {
    pub response: ChatResponse,
    pub meta: CallMeta,
}

/// An embedding answer and how it was obtained.
#[derive(Debug, Clone)]
pub struct EmbedOutcome {
    pub response: EmbeddingResponse,
    pub meta: CallMeta,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_from_json() {
        let options = CallOptions::from_json(json!({
            "timeout": 2.5, "user": "u", "tags": ["a"], "metadata": {"k": "v"},
            "cache": "refresh", "deployment": "d", "session": null, "max_retries": 0,
        }))
        .unwrap();
        assert_eq!(options.max_retries, Some(0));
        assert_eq!(options.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(options.tags, ["a"]);
        assert_eq!(options.cache, CacheControl::Refresh);
        assert_eq!(options.session, None);
        assert_eq!(
            CallOptions::from_json(json!({"cache": false}))
                .unwrap()
                .cache,
            CacheControl::Bypass
        );
        assert!(CallOptions::from_json(json!(null)).unwrap().tags.is_empty());
    }

    #[test]
    fn bad_options_name_their_field() {
        for (value, field) in [
            (json!({"tags": "not-a-list"}), "tags"),
            (json!({"timeout": 0}), "timeout"),
            (json!({"timeout": "soon"}), "timeout"),
            (json!({"cache": "sometimes"}), "cache"),
            (json!({"metadata": {"k": 1}}), "metadata.k"),
            (json!({"max_retries": -1}), "max_retries"),
        ] {
            let error = CallOptions::from_json(value.clone()).unwrap_err();
            assert_eq!(error.code(), "bad_request", "{value}");
            assert_eq!(error.field(), Some(field), "{value}: {error}");
        }
        let unknown = CallOptions::from_json(json!({"retries": 3})).unwrap_err();
        assert_eq!(unknown.field(), Some("retries"), "{unknown}");
    }
}
