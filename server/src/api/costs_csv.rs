//! The cost report as CSV (`GET /api/v1/costs/report?…&format=csv`): one line per item,
//! columns stable and in [`REPORT_COLUMNS`]' order, for spreadsheets and the console's
//! export button alike.

use super::costs::CostReport;
use super::usage::Figures;
use crate::usage::csv;

/// The CSV header. The figures are the item's `total` (for departments: its own apps and
/// every department's below it); `own_*` are its own apps' alone.
pub const REPORT_COLUMNS: [&str; 17] = [
    "key",
    "name",
    "parent_id",
    "calls",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_micros",
    "cost_usd",
    "error_rate",
    "cache_hit_rate",
    "local_share",
    "latency_ms_p50",
    "latency_ms_p95",
    "own_calls",
    "own_cost_micros",
];

/// Exact micro-dollars as dollars with six decimals (no float on the way).
fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn figures(t: &Figures) -> [String; 12] {
    [
        t.calls.to_string(),
        t.errors.to_string(),
        t.prompt_tokens.to_string(),
        t.completion_tokens.to_string(),
        t.cached_tokens.to_string(),
        t.cost_micros.to_string(),
        usd(t.cost_micros),
        t.error_rate.to_string(),
        t.cache_hit_rate.to_string(),
        t.local_share.to_string(),
        opt(t.latency_ms_p50),
        opt(t.latency_ms_p95),
    ]
}

/// The report as CSV: the header, then one line per item in the report's order.
pub fn report_csv(r: &CostReport) -> String {
    let mut out = csv::line(&REPORT_COLUMNS);
    for item in &r.items {
        let mut fields = vec![
            item.key.clone(),
            item.name.clone().unwrap_or_default(),
            item.parent_id.clone().unwrap_or_default(),
        ];
        fields.extend(figures(&item.total));
        fields.push(item.own.calls.to_string());
        fields.push(item.own.cost_micros.to_string());
        out.push_str(&csv::line(&fields));
    }
    out
}

/// `costs-department-2026-11.csv`, or with the range's Unix milliseconds.
pub fn report_file_name(r: &CostReport) -> String {
    let group = serde_json::to_value(r.group_by)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match &r.period {
        Some(p) => format!("costs-{group}-{p}.csv"),
        None => format!("costs-{group}-{}-{}.csv", r.from, r.to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_exact() {
        assert_eq!(usd(0), "0.000000");
        assert_eq!(usd(1_234_567), "1.234567");
        assert_eq!(usd(-5), "-0.000005");
    }
}
