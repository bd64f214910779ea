//! Health per deployment from the usage rollups: request and token rates, concurrency,
//! error rate and p95 latency over the last minutes and in the busiest minute of the last
//! day. Concurrency is Little's law: the latency summed over the window's calls divided
//! by the window's length is the mean number of calls in flight.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::DeploymentMinute;
use crate::usage::histogram::{BUCKETS, quantile};

/// "Now" is the last five rollup minutes, the current one included.
pub const NOW_MINUTES: i64 = 5;
/// The peak is looked for over the last day.
pub const PEAK_SPAN_MS: i64 = 86_400_000;

/// A deployment's load over a span.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Load {
    pub requests_per_minute: f64,
    pub tokens_per_minute: f64,
    /// Mean calls in flight.
    pub concurrency: f64,
    pub error_rate: f64,
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeploymentHealth {
    pub deployment: String,
    pub now: Load,
    /// The busiest minute (most calls) of the last day, and when it began.
    pub peak: Load,
    pub peak_minute: Option<i64>,
    /// Provider rate-limit headroom: usage events carry no rate-limit headers, so none.
    pub rate_limit_headroom: Option<f64>,
}

/// The load of `minutes` spread over `span_minutes`.
fn load(minutes: &[&DeploymentMinute], span_minutes: i64) -> Load {
    let span = span_minutes.max(1) as f64;
    let calls: i64 = minutes.iter().map(|m| m.calls).sum();
    let errors: i64 = minutes.iter().map(|m| m.errors).sum();
    let mut latency = [0; BUCKETS];
    for m in minutes {
        for (sum, v) in latency.iter_mut().zip(m.latency) {
            *sum += v;
        }
    }
    Load {
        requests_per_minute: calls as f64 / span,
        tokens_per_minute: minutes.iter().map(|m| m.tokens).sum::<i64>() as f64 / span,
        concurrency: minutes.iter().map(|m| m.latency_us_sum).sum::<i64>() as f64
            / 1e6
            / (span * 60.0),
        error_rate: if calls > 0 {
            errors as f64 / calls as f64
        } else {
            0.0
        },
        p95_ms: quantile(&latency, 0.95),
    }
}

/// Health of every deployment with rollups in `minutes` (a day's worth, by deployment).
pub fn health(minutes: &[DeploymentMinute], now_ms: i64) -> Vec<DeploymentHealth> {
    let current = now_ms - now_ms.rem_euclid(60_000);
    let from_now = current - (NOW_MINUTES - 1) * 60_000;
    let mut by: BTreeMap<&str, Vec<&DeploymentMinute>> = BTreeMap::new();
    for m in minutes.iter().filter(|m| m.minute >= now_ms - PEAK_SPAN_MS) {
        by.entry(m.deployment.as_str()).or_default().push(m);
    }
    by.into_iter()
        .map(|(deployment, ms)| {
            let recent: Vec<&DeploymentMinute> = ms
                .iter()
                .copied()
                .filter(|m| m.minute >= from_now)
                .collect();
            let busiest = ms.iter().copied().max_by_key(|m| (m.calls, m.minute));
            DeploymentHealth {
                deployment: deployment.to_owned(),
                now: load(&recent, NOW_MINUTES),
                peak: busiest.map(|m| load(&[m], 1)).unwrap_or_default(),
                peak_minute: busiest.map(|m| m.minute),
                rate_limit_headroom: None,
            }
        })
        .collect()
}
