//! Prometheus metrics in the text exposition format, kept by hand: a few counters need
//! no metrics framework.
//!
//! Usage series are labelled by tenant and model. Both come from SDKs, so their number is
//! bounded: at most [`MAX_USAGE_SERIES`] (tenant, model) pairs are kept, and events of any
//! pair first seen after that are counted under `tenant="other",model="other"`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::Db;

/// (method, route, status) -> (count, total seconds)
type HttpSeries = BTreeMap<(String, String, u16), (u64, f64)>;

/// The most (tenant, model) usage series; later pairs are counted as `other`.
pub const MAX_USAGE_SERIES: usize = 1000;

/// The sums of one usage series.
#[derive(Debug, Default, Clone, Copy)]
struct UsageSums {
    calls: u64,
    errors: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    cost_micros: u64,
}

/// What happened to ingested events, by outcome.
#[derive(Debug, Default)]
struct EventCounts {
    accepted: AtomicU64,
    rejected: AtomicU64,
    duplicate: AtomicU64,
}

/// What became of call-log content at ingestion (`crate::call_logs::intake`).
#[derive(Debug, Default)]
struct CallLogCounts {
    kept: AtomicU64,
    not_logged: AtomicU64,
    too_large: AtomicU64,
    unusable: AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    call_logs: CallLogCounts,
    http: Mutex<HttpSeries>,
    auth_failures: AtomicU64,
    usage: Mutex<BTreeMap<(String, String), UsageSums>>,
    events: EventCounts,
    /// Recommended replicas per (tenant, deployment): (now, at the forecast peak).
    replicas: Mutex<BTreeMap<(String, String), (u64, u64)>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut http) = self.http.lock() {
            let e = http
                .entry((method.to_owned(), route.to_owned(), status))
                .or_insert((0, 0.0));
            e.0 += 1;
            e.1 += seconds;
        }
    }

    /// Replaces `tenant_id`'s recommended replicas: (deployment, now, at peak).
    pub fn set_replicas(&self, tenant_id: &str, rows: Vec<(String, u64, u64)>) {
        if let Ok(mut replicas) = self.replicas.lock() {
            replicas.retain(|(t, _), _| t != tenant_id);
            for (deployment, now, peak) in rows {
                replicas.insert((tenant_id.to_owned(), deployment), (now, peak));
            }
        }
    }

    fn render_replicas(&self, out: &mut String) {
        let _ = writeln!(out, "# TYPE switchyard_recommended_replicas gauge");
        if let Ok(replicas) = self.replicas.lock() {
            for ((tenant, deployment), (now, peak)) in replicas.iter() {
                let labels = format!(
                    "tenant=\"{}\",deployment=\"{}\"",
                    escape(tenant),
                    escape(deployment)
                );
                let _ = writeln!(
                    out,
                    "switchyard_recommended_replicas{{{labels},at=\"now\"}} {now}"
                );
                let _ = writeln!(
                    out,
                    "switchyard_recommended_replicas{{{labels},at=\"peak\"}} {peak}"
                );
            }
        }
    }

    pub fn auth_failed(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// One ingested batch: stored events by (tenant, model), and the three outcomes.
    pub fn usage_ingested(
        &self,
        tenant: &str,
        stored: &[crate::usage::validate::CheckedEvent],
        rejected: u64,
        duplicates: u64,
    ) {
        let e = &self.events;
        e.accepted.fetch_add(stored.len() as u64, Ordering::Relaxed);
        e.rejected.fetch_add(rejected, Ordering::Relaxed);
        e.duplicate.fetch_add(duplicates, Ordering::Relaxed);
        let Ok(mut usage) = self.usage.lock() else {
            return;
        };
        for event in stored {
            let mut key = (tenant.to_owned(), event.model.clone());
            if !usage.contains_key(&key) && usage.len() >= MAX_USAGE_SERIES {
                key = ("other".into(), "other".into());
            }
            let s = usage.entry(key).or_default();
            s.calls += 1;
            s.errors += u64::from(event.error_code.is_some());
            s.prompt_tokens += event.prompt_tokens.unsigned_abs();
            s.completion_tokens += event.completion_tokens.unsigned_abs();
            s.cost_micros += event.cost_micros.unsigned_abs();
        }
    }

    /// The content of one batch, by outcome.
    pub fn call_logs_ingested(&self, counts: crate::call_logs::intake::IntakeCounts) {
        let c = &self.call_logs;
        c.kept.fetch_add(counts.kept, Ordering::Relaxed);
        c.not_logged.fetch_add(counts.not_logged, Ordering::Relaxed);
        c.too_large.fetch_add(counts.too_large, Ordering::Relaxed);
        c.unusable.fetch_add(counts.unusable, Ordering::Relaxed);
    }

    fn render_call_logs(&self, out: &mut String) {
        let _ = writeln!(out, "# TYPE switchyard_call_logs_total counter");
        let c = &self.call_logs;
        for (outcome, n) in [
            ("kept", &c.kept),
            ("not_logged", &c.not_logged),
            ("too_large", &c.too_large),
            ("unusable", &c.unusable),
        ] {
            let _ = writeln!(
                out,
                "switchyard_call_logs_total{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
    }

    fn render_usage(&self, out: &mut String) {
        let _ = writeln!(out, "# TYPE switchyard_usage_events_total counter");
        for (outcome, n) in [
            ("accepted", &self.events.accepted),
            ("rejected", &self.events.rejected),
            ("duplicate", &self.events.duplicate),
        ] {
            let _ = writeln!(
                out,
                "switchyard_usage_events_total{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let Ok(usage) = self.usage.lock() else {
            return;
        };
        for name in ["calls", "errors", "tokens", "cost_usd"] {
            let _ = writeln!(out, "# TYPE switchyard_usage_{name}_total counter");
        }
        for ((tenant, model), s) in usage.iter() {
            let labels = format!("tenant=\"{}\",model=\"{}\"", escape(tenant), escape(model));
            let _ = writeln!(out, "switchyard_usage_calls_total{{{labels}}} {}", s.calls);
            let _ = writeln!(
                out,
                "switchyard_usage_errors_total{{{labels}}} {}",
                s.errors
            );
            let _ = writeln!(
                out,
                "switchyard_usage_tokens_total{{{labels},kind=\"prompt\"}} {}",
                s.prompt_tokens
            );
            let _ = writeln!(
                out,
                "switchyard_usage_tokens_total{{{labels},kind=\"completion\"}} {}",
                s.completion_tokens
            );
            let _ = writeln!(
                out,
                "switchyard_usage_cost_usd_total{{{labels}}} {}.{:06}",
                s.cost_micros / 1_000_000,
                s.cost_micros % 1_000_000
            );
        }
    }

    pub fn render(&self, db: &Db) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE switchyard_http_requests_total counter");
        let _ = writeln!(
            out,
            "# TYPE switchyard_http_request_duration_seconds_sum counter"
        );
        if let Ok(http) = self.http.lock() {
            for ((method, route, status), (count, secs)) in http.iter() {
                let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
                let _ = writeln!(out, "switchyard_http_requests_total{{{labels}}} {count}");
                let _ = writeln!(
                    out,
                    "switchyard_http_request_duration_seconds_sum{{{labels}}} {secs:.6}"
                );
            }
        }
        let _ = writeln!(out, "# TYPE switchyard_auth_failures_total counter");
        let _ = writeln!(
            out,
            "switchyard_auth_failures_total {}",
            self.auth_failures.load(Ordering::Relaxed)
        );
        self.render_usage(&mut out);
        self.render_call_logs(&mut out);
        self.render_replicas(&mut out);
        let _ = writeln!(out, "# TYPE switchyard_db_connections gauge");
        let _ = writeln!(
            out,
            "switchyard_db_connections{{state=\"open\"}} {}",
            db.pool.size()
        );
        let _ = writeln!(
            out,
            "switchyard_db_connections{{state=\"idle\"}} {}",
            db.pool.num_idle()
        );
        out
    }
}

/// A label value as the exposition format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
