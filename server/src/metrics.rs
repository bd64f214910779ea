//! Prometheus metrics in the text exposition format, kept by hand: a few counters need
//! no metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::db::Db;

/// (method, route, status) -> (count, total seconds)
type HttpSeries = BTreeMap<(String, String, u16), (u64, f64)>;

#[derive(Default)]
pub struct Metrics {
    http: Mutex<HttpSeries>,
    auth_failures: std::sync::atomic::AtomicU64,
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

    pub fn auth_failed(&self) {
        self.auth_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
            self.auth_failures
                .load(std::sync::atomic::Ordering::Relaxed)
        );
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
