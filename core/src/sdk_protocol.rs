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
//!
//! `POST` [`LEASES_PATH`] with the same key takes a [`LeaseRequest`] and answers 200 with a
//! [`LeaseGrant`]: the instance's slice of every server-side budget and rate limit that
//! applies to its app (see `docs/budgets.md`). The first request names no lease and gets a
//! new one; each later one names it, reports what was used under it, and says what the
//! instance would like next; the answer replaces the whole grant. `POST`
//! [`LEASE_RETURN_PATH`] (`{id}` the lease) with a [`LeaseReturn`] ends a lease at once and
//! gives its unspent part back (204). A lease of another app, or an unknown one, is 404;
//! an expired lease named in a renewal is 410 and the instance starts a new one.

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

/// The lease endpoint: acquire or renew.
pub const LEASES_PATH: &str = "/sdk/v1/leases";

/// Returning a lease: `{id}` is the lease id.
pub const LEASE_RETURN_PATH: &str = "/sdk/v1/leases/{id}/return";

/// The body of `POST` [`LEASES_PATH`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// A random id this SDK instance (one `Client`) keeps for its life, so the server can
    /// tell instances of one app apart.
    pub instance: String,
    /// The lease being renewed; absent on the first request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    /// What this instance has committed under the lease so far, per slice: cumulative
    /// settled spend plus what is reserved by calls in flight. Absent slices used nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub used: Vec<SliceUse>,
    /// How much more of each slice the instance would like for the next refresh
    /// interval, in proportion to its recent spend. Absent slices ask for the server's
    /// default first slice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub want: Vec<SliceUse>,
}

/// An amount of one slice: USD for a budget, requests or tokens per minute for a limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceUse {
    /// The budget's or limit's id (a [`BudgetSlice::id`] or [`LimitSlice::id`]).
    pub id: String,
    pub amount: f64,
}

/// The body of `POST` [`LEASE_RETURN_PATH`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseReturn {
    /// The final committed amount per budget slice (nothing is in flight any more).
    #[serde(default)]
    pub used: Vec<SliceUse>,
}

/// The server's answer to a [`LeaseRequest`]: it replaces the instance's whole grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseGrant {
    pub lease: String,
    /// Unix milliseconds after which the grant is void unless renewed; the instance then
    /// follows each budget's [`ServerDownPolicy`].
    pub expires_at_ms: u64,
    /// When to renew, in milliseconds from now (well before expiry, so one failed renewal
    /// does not void the lease).
    pub refresh_in_ms: u64,
    #[serde(default)]
    pub budgets: Vec<BudgetSlice>,
    #[serde(default)]
    pub limits: Vec<LimitSlice>,
}

/// Which of an instance's calls a server-side budget or limit counts: a tenant,
/// department or app scope covers every call of the app; a model scope only calls of
/// that logical model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliceScope {
    Tenant,
    Department,
    App,
    Model,
}

/// What an instance does with a hard budget once its lease has expired and the server
/// cannot be reached to renew it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerDownPolicy {
    /// Refuse with the typed `budget_unavailable` error: the guarantee holds.
    #[default]
    Deny,
    /// Send the call to the local model (if the config has one; else deny).
    Local,
    /// Let calls through and record them; the budget may be overspent.
    Allow,
}

/// One budget's slice for this instance, in the budget's current period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetSlice {
    pub id: String,
    pub name: String,
    pub scope: SliceScope,
    /// For a model scope: the logical model whose calls count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `true`: refuse (or reroute) calls past the slice; `false` (soft): never refuse.
    pub hard: bool,
    /// For a hard budget: the model to send calls to instead of refusing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reroute_to: Option<String>,
    #[serde(default)]
    pub on_server_down: ServerDownPolicy,
    /// Cumulative USD this instance may commit under this lease in this period: what it
    /// reported used plus what the server has set aside for it. Never lower than an
    /// earlier grant in the same period.
    pub granted_usd: f64,
    /// The budget, for messages: its amount and the server's view of its spend.
    pub limit_usd: f64,
    pub spent_usd: f64,
    /// The period, unix seconds: spend is counted from `period_start`; at `period_end` a
    /// new period (and a new slice) begins.
    pub period_start: i64,
    pub period_end: i64,
}

/// One rate limit's share for this instance: at most `rpm` requests (and `tpm` tokens)
/// in any 60-second window. The shares of all live instances, plus shares released in
/// the last minute, never exceed the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitSlice {
    pub id: String,
    pub name: String,
    pub scope: SliceScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    #[serde(default)]
    pub on_server_down: ServerDownPolicy,
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
