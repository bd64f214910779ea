//! The protocol between the SDK and the management server, named once for both sides: the
//! path of the config endpoint, its query and its headers.
//!
//! `GET` [`CONFIG_PATH`] with `Authorization: Bearer <app key>` answers 200 with the
//! app's resolved [`Config`](crate::config::Config) as JSON, an `ETag`, and the version
//! number in [`CONFIG_VERSION_HEADER`]; or 304 when the ETag the client named (the `etag`
//! parameter, else `If-None-Match`) is still current once [`ConfigQuery::wait`] has passed
//! without an activation. Errors are `{"code", "message", "field"}`.
//!
//! `POST` [`USAGE_PATH`] with the same key carries a [`UsageBatch`] of usage events as JSON
//! (`Content-Encoding: gzip` or none). The server validates the events one by one, stores
//! each id at most once, and answers 200 with a [`UsageAck`] only once every accepted
//! event is durable: until then the SDK keeps the batch. A batch that cannot be read at all
//! (not JSON, over [`USAGE_MAX_EVENTS`] or [`USAGE_MAX_BYTES`]) is a 4xx, as is one whose
//! every event is refused; the SDK drops such a batch rather than retry it forever.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// The config endpoint.
pub const CONFIG_PATH: &str = "/sdk/v1/config";

/// The response header carrying the number of the config version served.
pub const CONFIG_VERSION_HEADER: &str = "x-switchyard-config-version";

/// The longest the server holds a long-poll open.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The query string of [`CONFIG_PATH`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigQuery {
    /// Seconds the server may hold the request for a version other than the one named
    /// (0 to [`MAX_WAIT`]; absent is 0). Signed, so a negative one is refused as out of
    /// range rather than as not a number.
    #[serde(
        default,
        deserialize_with = "int_param",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait: Option<i64>,
    /// The ETag of the config the client has, with or without its quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl ConfigQuery {
    /// A long-poll of `wait`, the version held named by `If-None-Match`.
    pub fn long_poll(wait: Duration) -> ConfigQuery {
        ConfigQuery {
            wait: Some(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX)),
            etag: None,
        }
    }
}

/// An integer query parameter. Query values are text on the wire, and some decoders hand
/// them over only as strings: `#[serde(default, deserialize_with = "int_param")]`.
pub fn int_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text: Option<String> = Deserialize::deserialize(d)?;
    text.map(|t| {
        t.parse::<i64>()
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got `{t}`")))
    })
    .transpose()
}

/// The usage endpoint.
pub const USAGE_PATH: &str = "/sdk/v1/usage";

/// The most events one batch may carry.
pub const USAGE_MAX_EVENTS: usize = 1000;

/// The largest batch body the server reads, after decompression.
pub const USAGE_MAX_BYTES: usize = 8 * 1024 * 1024;

/// The body of `POST` [`USAGE_PATH`]. The SDK sends `UsageBatch<UsageEvent>`; the server
/// reads `UsageBatch<serde_json::Value>` so one bad event cannot spoil the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageBatch<E> {
    /// Events this SDK dropped at its spool's cap since its last acknowledged batch.
    #[serde(default)]
    pub dropped: u64,
    pub events: Vec<E>,
}

/// The server's answer to a usage batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageAck {
    /// Events stored by this request.
    pub accepted: u64,
    /// Events whose id was already stored: a replay, counted once.
    pub duplicates: u64,
    /// Events refused, each with its reason; the rest of the batch is kept.
    pub rejected: Vec<RejectedEvent>,
}

/// One event the server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedEvent {
    /// Its position in the batch.
    pub index: usize,
    /// Its id, when it had a readable one.
    pub id: Option<String>,
    /// The field at fault, when one is.
    pub field: Option<String>,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_text_on_the_wire() {
        let q = ConfigQuery::long_poll(Duration::from_secs(30));
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            serde_json::json!({"wait": 30})
        );
        let back: ConfigQuery =
            serde_json::from_value(serde_json::json!({"wait": "30", "etag": "\"e\""})).unwrap();
        assert_eq!((back.wait, back.etag.as_deref()), (Some(30), Some("\"e\"")));
        let bad = serde_json::from_value::<ConfigQuery>(serde_json::json!({"wait": "x"}));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("expected an integer, got `x`")
        );
    }
}
