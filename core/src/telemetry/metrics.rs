use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::{Histogram, HistogramSnapshot};
use crate::shared::SharedTierSnapshot;

/// In-process counters and histograms per (model, deployment). Recording takes a read
/// lock and a few relaxed atomic adds; only the first call of a new series writes.
#[derive(Debug, Default)]
pub struct Metrics {
    series: RwLock<HashMap<String, HashMap<String, Arc<Series>>>>,
}

#[derive(Debug, Default)]
struct Series {
    calls: AtomicU64,
    cache_hits: AtomicU64,
    fallbacks: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    /// Billionths of a dollar, so cost adds atomically without float races.
    cost_nanos: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    latency: Histogram,
    ttft: Histogram,
}

/// What one call contributes to the metrics.
#[derive(Debug, Clone, Default)]
pub struct Outcome<'a> {
    pub model: &'a str,
    /// The deployment that answered or failed last; `-` when none was reached.
    pub deployment: &'a str,
    pub latency: Duration,
    pub ttft: Option<Duration>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    pub error: Option<&'static str>,
    pub cache_hit: bool,
    pub fallback: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    pub deployments: Vec<DeploymentSnapshot>,
    /// The Redis tier's counters, fallbacks included, when the config has `redis`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_tier: Option<SharedTierSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeploymentSnapshot {
    pub model: String,
    pub deployment: String,
    pub calls: u64,
    pub errors: BTreeMap<String, u64>,
    pub cache_hits: u64,
    pub fallbacks: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    pub latency: HistogramSnapshot,
    pub ttft: HistogramSnapshot,
}

impl MetricsSnapshot {
    /// Total calls across every series.
    pub fn calls(&self) -> u64 {
        self.deployments.iter().map(|d| d.calls).sum()
    }

    pub fn find(&self, model: &str, deployment: &str) -> Option<&DeploymentSnapshot> {
        self.deployments
            .iter()
            .find(|d| d.model == model && d.deployment == deployment)
    }
}

impl Metrics {
    pub fn record(&self, outcome: &Outcome<'_>) {
        let series = self.series(outcome.model, outcome.deployment);
        series.calls.fetch_add(1, Ordering::Relaxed);
        series.latency.record(outcome.latency);
        if let Some(ttft) = outcome.ttft {
            series.ttft.record(ttft);
        }
        if outcome.cache_hit {
            series.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.fallback {
            series.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        series
            .prompt_tokens
            .fetch_add(outcome.prompt_tokens, Ordering::Relaxed);
        series
            .completion_tokens
            .fetch_add(outcome.completion_tokens, Ordering::Relaxed);
        let nanos = (outcome.cost_usd.max(0.0) * 1e9).round() as u64;
        series.cost_nanos.fetch_add(nanos, Ordering::Relaxed);
        if let Some(code) = outcome.error {
            if let Ok(mut errors) = series.errors.lock() {
                *errors.entry(code).or_default() += 1;
            }
        }
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let Ok(map) = self.series.read() else {
            return MetricsSnapshot::default();
        };
        let mut deployments: Vec<DeploymentSnapshot> = map
            .iter()
            .flat_map(|(model, by_deployment)| {
                by_deployment
                    .iter()
                    .map(move |(deployment, s)| DeploymentSnapshot {
                        model: model.clone(),
                        deployment: deployment.clone(),
                        calls: s.calls.load(Ordering::Relaxed),
                        errors: s
                            .errors
                            .lock()
                            .map(|e| e.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
                            .unwrap_or_default(),
                        cache_hits: s.cache_hits.load(Ordering::Relaxed),
                        fallbacks: s.fallbacks.load(Ordering::Relaxed),
                        prompt_tokens: s.prompt_tokens.load(Ordering::Relaxed),
                        completion_tokens: s.completion_tokens.load(Ordering::Relaxed),
                        cost_usd: s.cost_nanos.load(Ordering::Relaxed) as f64 / 1e9,
                        latency: s.latency.snapshot(),
                        ttft: s.ttft.snapshot(),
                    })
            })
            .collect();
        deployments.sort_by(|a, b| (&a.model, &a.deployment).cmp(&(&b.model, &b.deployment)));
        MetricsSnapshot {
            deployments,
            shared_tier: None,
        }
    }

    fn series(&self, model: &str, deployment: &str) -> Arc<Series> {
        if let Ok(map) = self.series.read() {
            if let Some(series) = map.get(model).and_then(|m| m.get(deployment)) {
                return series.clone();
            }
        }
        match self.series.write() {
            Ok(mut map) => map
                .entry(model.to_owned())
                .or_default()
                .entry(deployment.to_owned())
                .or_default()
                .clone(),
            Err(_) => Arc::new(Series::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_per_series() {
        let metrics = Metrics::default();
        let ok = Outcome {
            model: "chat",
            deployment: "a",
            latency: Duration::from_millis(10),
            prompt_tokens: 10,
            completion_tokens: 5,
            cost_usd: 0.000_123,
            ..Outcome::default()
        };
        metrics.record(&ok);
        metrics.record(&ok);
        metrics.record(&Outcome {
            error: Some("timeout"),
            ..ok.clone()
        });
        metrics.record(&Outcome {
            deployment: "b",
            cache_hit: true,
            ..ok.clone()
        });
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.calls(), 4);
        let a = snapshot.find("chat", "a").unwrap();
        assert_eq!(a.calls, 3);
        assert_eq!(a.prompt_tokens, 30);
        assert_eq!(a.errors.get("timeout"), Some(&1));
        assert!((a.cost_usd - 0.000_369).abs() < 1e-12);
        assert_eq!(snapshot.find("chat", "b").unwrap().cache_hits, 1);
    }
}
