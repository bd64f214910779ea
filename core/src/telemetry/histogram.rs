use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Bucket upper bounds grow by this factor: quantiles are exact to within ~19%.
const GROWTH: f64 = 1.189_207_115; // 2^(1/4)
const FIRST_BOUND_US: f64 = 50.0;
const BUCKETS: usize = 96; // 50 µs .. ~880 s

/// A lock-free latency histogram: recording is two relaxed atomic adds.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum_us: AtomicU64,
}

/// Quantiles in milliseconds, read from the bucket bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HistogramSnapshot {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn record(&self, value: Duration) {
        let us = value.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        if count == 0 {
            return HistogramSnapshot::default();
        }
        let quantile = |q: f64| {
            let rank = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return upper_bound_us(i) / 1000.0;
                }
            }
            upper_bound_us(BUCKETS - 1) / 1000.0
        };
        HistogramSnapshot {
            count,
            mean_ms: self.sum_us.load(Ordering::Relaxed) as f64 / count as f64 / 1000.0,
            p50_ms: quantile(0.50),
            p90_ms: quantile(0.90),
            p99_ms: quantile(0.99),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if (us as f64) <= FIRST_BOUND_US {
        return 0;
    }
    let index = ((us as f64) / FIRST_BOUND_US).log(GROWTH).ceil() as usize;
    index.min(BUCKETS - 1)
}

fn upper_bound_us(bucket: usize) -> f64 {
    FIRST_BOUND_US * GROWTH.powi(bucket as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_bucket_precision() {
        let h = Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 100);
        assert!((50.0..=60.0).contains(&s.p50_ms), "{s:?}");
        assert!((99.0..=120.0).contains(&s.p99_ms), "{s:?}");
        assert!((s.mean_ms - 50.5).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn extremes_do_not_overflow() {
        let h = Histogram::default();
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(100_000));
        assert_eq!(h.snapshot().count, 2);
    }
}
