//! Per-arm figures and the significance tests of the A/B report: a two-proportion z-test
//! on error rates, and Mann-Whitney U on latencies (latency is skewed and heavy-tailed, so
//! a rank test that assumes no distribution beats Welch's t, whose mean a few slow calls
//! dominate).

use serde::Serialize;

use crate::store::ArmSample;

/// One arm's calls over a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ArmStats {
    pub arm: String,
    pub calls: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p50_latency_ms: f64,
    pub p95_latency_ms: f64,
    pub p99_latency_ms: f64,
    pub cost_usd: f64,
    pub cost_per_call_usd: f64,
    /// Latencies in µs, sorted: kept for the rank test, not reported.
    #[serde(skip)]
    latencies_us: Vec<i64>,
}

impl ArmStats {
    /// The figures of `arm` among `samples`.
    pub fn of(arm: &str, samples: &[ArmSample]) -> ArmStats {
        let mine: Vec<_> = samples.iter().filter(|s| s.0 == arm).collect();
        let mut latencies_us: Vec<i64> = mine.iter().map(|s| s.2).collect();
        latencies_us.sort_unstable();
        let calls = mine.len() as u64;
        let errors = mine.iter().filter(|s| s.1).count() as u64;
        let cost_micros: i64 = mine.iter().map(|s| s.3).sum();
        let per_call = |total: f64| {
            if calls == 0 {
                0.0
            } else {
                total / calls as f64
            }
        };
        ArmStats {
            arm: arm.to_owned(),
            calls,
            errors,
            error_rate: per_call(errors as f64),
            p50_latency_ms: percentile_ms(&latencies_us, 0.50),
            p95_latency_ms: percentile_ms(&latencies_us, 0.95),
            p99_latency_ms: percentile_ms(&latencies_us, 0.99),
            cost_usd: cost_micros as f64 / 1e6,
            cost_per_call_usd: per_call(cost_micros as f64 / 1e6),
            latencies_us,
        }
    }
}

/// Nearest-rank percentile of sorted µs values, in ms; 0 when empty.
fn percentile_ms(sorted_us: &[i64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// A test's statistic and p-values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Significance {
    /// The z score (candidate minus baseline, standardised).
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// One-sided p-value that the candidate is worse (higher).
    pub p_worse: f64,
}

impl Significance {
    fn from_z(z: f64) -> Significance {
        Significance {
            z,
            p_value: (2.0 * (1.0 - normal_cdf(z.abs()))).min(1.0),
            p_worse: 1.0 - normal_cdf(z),
        }
    }
}

/// Two-proportion z-test (pooled) of the candidate's error rate against the baseline's.
/// None when either arm has no calls or the pooled rate is 0 or 1 (no variance).
pub fn error_rate_test(baseline: &ArmStats, candidate: &ArmStats) -> Option<Significance> {
    let (n1, n2) = (baseline.calls as f64, candidate.calls as f64);
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let pooled = (baseline.errors + candidate.errors) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return None;
    }
    Some(Significance::from_z(
        (candidate.error_rate - baseline.error_rate) / se,
    ))
}

/// Mann-Whitney U of the candidate's latencies against the baseline's, by the normal
/// approximation with the tie correction; z > 0 when the candidate is slower. None when
/// either arm has no calls or every latency is tied.
pub fn latency_test(baseline: &ArmStats, candidate: &ArmStats) -> Option<Significance> {
    let (a, b) = (&baseline.latencies_us, &candidate.latencies_us);
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // Merge the two sorted lists, giving tied values their mean rank.
    let mut all: Vec<(i64, bool)> = a.iter().map(|v| (*v, false)).collect();
    all.extend(b.iter().map(|v| (*v, true)));
    all.sort_unstable_by_key(|x| x.0);
    let n = all.len();
    let (mut rank_sum_candidate, mut tie_term) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        rank_sum_candidate += mean_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (n1, n2, n) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_sum_candidate - n2 * (n2 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if variance <= 0.0 {
        return None;
    }
    Some(Significance::from_z((u - mean) / variance.sqrt()))
}

/// The standard normal CDF, through erfc (W. J. Cody's rational approximation as in
/// Numerical Recipes' `erfcc`: relative error under 1.2e-7 everywhere).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(arm: &str, latencies: &[i64], errors: usize) -> Vec<ArmSample> {
        latencies
            .iter()
            .enumerate()
            .map(|(i, l)| (arm.to_owned(), i < errors, *l, 10))
            .collect()
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        for (z, want) in [
            (0.0, 0.5),
            (1.0, 0.841_344_7),
            (1.959_964, 0.975),
            (-2.326_348, 0.01),
        ] {
            assert!(
                (normal_cdf(z) - want).abs() < 1e-6,
                "{z}: {}",
                normal_cdf(z)
            );
        }
    }

    #[test]
    fn percentiles_and_rates() {
        let s = ArmStats::of(
            "v1",
            &samples("v1", &(1..=100).map(|i| i * 1000).collect::<Vec<_>>(), 7),
        );
        assert_eq!((s.calls, s.errors), (100, 7));
        assert_eq!(
            (s.p50_latency_ms, s.p95_latency_ms, s.p99_latency_ms),
            (50.0, 95.0, 99.0)
        );
        assert!((s.cost_per_call_usd - 1e-5).abs() < 1e-12);
    }

    #[test]
    fn z_test_matches_a_worked_example() {
        // 30/200 against 10/200: pooled 0.1, se = sqrt(0.1*0.9*0.01) = 0.03, z = 0.1/0.03.
        let b = ArmStats::of("b", &samples("b", &[1; 200], 10));
        let c = ArmStats::of("c", &samples("c", &[1; 200], 30));
        let t = error_rate_test(&b, &c).unwrap();
        assert!((t.z - 0.1 / 0.03).abs() < 1e-9, "{t:?}");
        assert!(t.p_worse < 0.001 && t.p_value < 0.001);
        assert!(error_rate_test(&b, &ArmStats::of("c", &[])).is_none());
    }

    #[test]
    fn mann_whitney_sees_a_shift_and_not_noise() {
        let base: Vec<i64> = (0..300).map(|i| 1000 + (i * 7919 % 500)).collect();
        let slow: Vec<i64> = base.iter().map(|l| l + 200).collect();
        let b = ArmStats::of("b", &samples("b", &base, 0));
        let t = latency_test(&b, &ArmStats::of("c", &samples("c", &slow, 0))).unwrap();
        assert!(t.z > 5.0 && t.p_worse < 1e-6, "{t:?}");
        let same = latency_test(&b, &ArmStats::of("c", &samples("c", &base, 0))).unwrap();
        assert!(same.z.abs() < 1e-9 && same.p_value > 0.99, "{same:?}");
        // Hand-computed: [1,2] vs [3]: U = 2 (the candidate beats both), mean 1, var 2/3.
        let t = latency_test(
            &ArmStats::of("b", &samples("b", &[1, 2], 0)),
            &ArmStats::of("c", &samples("c", &[3], 0)),
        )
        .unwrap();
        assert!((t.z - 1.0 / (2.0_f64 / 3.0).sqrt()).abs() < 1e-9, "{t:?}");
    }
}
