//! The capacity report: per model and deployment, the 7-day forecast of calls per hour
//! with its backtest error and the hourly history it was fitted on, and for self-hosted deployments (providers of kind `vllm` or
//! `ollama`) whose catalogue entry gives a throughput (`capacity.rpm`, read as one
//! replica's), the replicas needed now and at the forecast peak.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::forecast::{Forecast, Smoothing, WEEK, forecast};
use super::health::DeploymentHealth;
use crate::store::{Result, TenantStore};

/// History read for the forecast: five weeks (two to fit, more to learn, one to backtest).
const HISTORY_HOURS: i64 = 5 * WEEK as i64;
const HOUR_MS: i64 = 3_600_000;
const SELF_HOSTED: [&str; 2] = ["vllm", "ollama"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CapacityRow {
    pub model: String,
    pub deployment: String,
    /// The first hour of `history`, Unix milliseconds.
    pub history_from: i64,
    /// Calls per hour the forecast was fitted on, from the first hour with calls (within
    /// five weeks) to the last complete one; the forecast's first hour follows the last.
    pub history: Vec<f64>,
    /// Calls per hour for the next 7 days, its peak and backtest error; none with less
    /// than two weeks of history.
    pub forecast: Option<Forecast>,
    /// Self-hosted only: one replica's requests a minute, from the catalogue.
    pub per_replica_rpm: Option<u64>,
    pub replicas_now: Option<u64>,
    pub replicas_at_peak: Option<u64>,
}

/// The requests a minute one replica of `deployment` of `model` takes, if it is
/// self-hosted and its catalogue entry says.
fn per_replica_rpm(doc: &Value, model: &str, deployment: &str) -> Option<u64> {
    let deployments = doc
        .pointer(&format!("/models/{model}/deployments"))?
        .as_array()?;
    let d = deployments.iter().find(|d| {
        let provider = d
            .get("provider")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = d
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "{provider}/{}",
                    d.get("model").and_then(Value::as_str).unwrap_or_default()
                )
            });
        name == deployment
    })?;
    let provider = d.get("provider")?.as_str()?;
    let kind = doc
        .pointer(&format!("/providers/{provider}/kind"))?
        .as_str()?;
    if !SELF_HOSTED.contains(&kind) {
        return None;
    }
    d.pointer("/capacity/rpm")?.as_u64().filter(|r| *r > 0)
}

/// Replicas for `rpm` at `per_replica` each: at least one for a deployment in use.
fn replicas(rpm: f64, per_replica: u64) -> u64 {
    ((rpm / per_replica as f64).ceil() as u64).max(1)
}

pub async fn report(
    tenant: &TenantStore<'_>,
    health: &[DeploymentHealth],
    now_ms: i64,
) -> Result<Vec<CapacityRow>> {
    let this_hour = now_ms - now_ms.rem_euclid(HOUR_MS);
    let from = this_hour - HISTORY_HOURS * HOUR_MS;
    let mut series: BTreeMap<(String, String), BTreeMap<i64, i64>> = BTreeMap::new();
    for (deployment, model, hour, calls) in tenant.hourly_calls(from).await? {
        // The current hour is not over: it would read as a drop.
        if hour < this_hour {
            series
                .entry((model, deployment))
                .or_default()
                .insert(hour, calls);
        }
    }
    let doc = match tenant.active().await? {
        Some(active) => tenant.get_version(&active.version_id).await?.document,
        None => Value::Null,
    };
    Ok(series
        .into_iter()
        .map(|((model, deployment), hours)| {
            // Dense from the first hour with calls to the last complete one.
            let first = hours.keys().next().copied().unwrap_or(this_hour);
            let y: Vec<f64> = (0..(this_hour - first) / HOUR_MS)
                .map(|i| hours.get(&(first + i * HOUR_MS)).copied().unwrap_or(0) as f64)
                .collect();
            let forecast = forecast(&y, Smoothing::default());
            let per_replica = per_replica_rpm(&doc, &model, &deployment);
            let now_rpm = health
                .iter()
                .find(|h| h.deployment == deployment)
                .map_or(0.0, |h| h.now.requests_per_minute);
            let peak_rpm = forecast.as_ref().map_or(0.0, |f| f.peak / 60.0);
            CapacityRow {
                history_from: first,
                history: y,
                replicas_now: per_replica.map(|p| replicas(now_rpm, p)),
                replicas_at_peak: per_replica.map(|p| replicas(peak_rpm.max(now_rpm), p)),
                per_replica_rpm: per_replica,
                forecast,
                model,
                deployment,
            }
        })
        .collect())
}
