//! The fixed latency histogram of the per-minute rollups (columns `lat_0` .. `lat_11` of
//! `usage_minute`): fixed bounds, so rollups of any minutes add bucket by bucket and a
//! report gives percentiles without reading raw events.

/// Upper bounds (inclusive) of the buckets, in milliseconds; the last bucket is open.
pub const BOUNDS_MS: [f64; BUCKETS - 1] = [
    25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0,
];

/// How many buckets (columns) there are.
pub const BUCKETS: usize = 12;

/// The bucket a latency falls in.
pub fn bucket(latency_ms: f64) -> usize {
    BOUNDS_MS
        .iter()
        .position(|b| latency_ms <= *b)
        .unwrap_or(BUCKETS - 1)
}

/// The `q` quantile (0..=1) of a histogram, interpolated linearly inside its bucket (the
/// first bucket starts at 0; the open last one answers its lower bound). `None` when empty.
pub fn quantile(counts: &[i64; BUCKETS], q: f64) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut seen = 0.0;
    for (i, count) in counts.iter().enumerate() {
        let count = *count as f64;
        if count > 0.0 && seen + count >= rank {
            let lower = if i == 0 { 0.0 } else { BOUNDS_MS[i - 1] };
            let Some(upper) = BOUNDS_MS.get(i) else {
                return Some(lower);
            };
            let within = ((rank - seen) / count).clamp(0.0, 1.0);
            return Some(lower + (upper - lower) * within);
        }
        seen += count;
    }
    BOUNDS_MS.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_quantiles() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(25.0), 0);
        assert_eq!(bucket(25.1), 1);
        assert_eq!(bucket(1e9), BUCKETS - 1);
        let mut h = [0i64; BUCKETS];
        assert_eq!(quantile(&h, 0.5), None);
        h[bucket(300.0)] = 100; // all in (250, 500]
        assert_eq!(quantile(&h, 0.5), Some(375.0));
        assert_eq!(quantile(&h, 1.0), Some(500.0));
        h[BUCKETS - 1] = 900;
        assert_eq!(quantile(&h, 0.99), Some(60000.0));
    }
}
