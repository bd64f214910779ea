//! The decision the job takes for a running rollout: hold, go to the next step, or roll
//! back. Pure: the figures in, the decision out, so it is tested without a server.

use serde_json::{Value, json};

use super::stats::{ArmStats, error_rate_test};
use crate::store::Rollout;

/// What to do with a running rollout now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Not enough time or samples yet, and no guard breached.
    Hold,
    /// The step held healthy for its dwell with enough samples.
    Advance { reason: String, evidence: Value },
    /// A guard is breached.
    RollBack { reason: String, evidence: Value },
}

/// What a decision saw: the step, its share and start, and both arms' figures.
pub fn evidence(rollout: &Rollout, baseline: &ArmStats, candidate: &ArmStats) -> Value {
    json!({
        "step": rollout.step,
        "percent": rollout.percent(),
        "since": rollout.step_started_at,
        "baseline": baseline,
        "candidate": candidate,
    })
}

/// Judges `rollout`'s current step from its arms' figures since the step began.
pub fn decide(
    rollout: &Rollout,
    baseline: &ArmStats,
    candidate: &ArmStats,
    now_ms: i64,
) -> Decision {
    let guards = &rollout.guards;
    let mut evidence = evidence(rollout, baseline, candidate);
    if candidate.calls >= guards.min_samples.max(1) {
        if let Some(breach) = breached(rollout, baseline, candidate) {
            evidence["guard"] = breach.1;
            return Decision::RollBack {
                reason: breach.0,
                evidence,
            };
        }
    }
    let Some(step) = rollout.steps.get(rollout.step) else {
        return Decision::Hold;
    };
    let dwelt_ms = now_ms - rollout.step_started_at;
    let dwell_ms = i64::try_from(step.dwell_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    if dwelt_ms >= dwell_ms && candidate.calls >= step.min_samples {
        return Decision::Advance {
            reason: format!(
                "step {} ({}%) healthy for {} s with {} candidate calls",
                rollout.step + 1,
                step.percent,
                dwelt_ms / 1000,
                candidate.calls
            ),
            evidence,
        };
    }
    Decision::Hold
}

/// The first breached guard: (reason, the guard's figures).
fn breached(
    rollout: &Rollout,
    baseline: &ArmStats,
    candidate: &ArmStats,
) -> Option<(String, Value)> {
    let guards = &rollout.guards;
    if let Some(max) = guards.max_error_rate_increase {
        let increase = candidate.error_rate - baseline.error_rate;
        // Without baseline calls there is nothing to test against: the increase alone decides.
        let test = error_rate_test(baseline, candidate);
        let significant = test.is_none_or(|t| t.p_worse < guards.alpha);
        if increase > max && significant {
            return Some((
                format!(
                    "error rate {:.1}% against the baseline's {:.1}% (limit +{:.1} points)",
                    candidate.error_rate * 100.0,
                    baseline.error_rate * 100.0,
                    max * 100.0
                ),
                json!({"kind": "error_rate", "limit": max, "increase": increase, "test": test}),
            ));
        }
    }
    if let Some(ratio) = guards.max_p95_latency_ratio {
        if baseline.calls > 0 && candidate.p95_latency_ms > baseline.p95_latency_ms * ratio {
            return Some((
                format!(
                    "p95 latency {:.0} ms against the baseline's {:.0} ms (limit x{ratio})",
                    candidate.p95_latency_ms, baseline.p95_latency_ms
                ),
                json!({"kind": "p95_latency", "limit": ratio}),
            ));
        }
    }
    if let Some(ratio) = guards.max_cost_per_call_ratio {
        if baseline.calls > 0 && candidate.cost_per_call_usd > baseline.cost_per_call_usd * ratio {
            return Some((
                format!(
                    "cost per call ${:.6} against the baseline's ${:.6} (limit x{ratio})",
                    candidate.cost_per_call_usd, baseline.cost_per_call_usd
                ),
                json!({"kind": "cost_per_call", "limit": ratio}),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::ArmSample;

    fn rollout(guards: Value) -> Rollout {
        Rollout {
            id: "rol_1".into(),
            name: "r".into(),
            model: "chat".into(),
            baseline: "v1".into(),
            candidate: "v2".into(),
            sticky_by: Default::default(),
            steps: serde_json::from_value(json!([
                {"percent": 5, "dwell_secs": 60, "min_samples": 50}, {"percent": 100}
            ]))
            .unwrap(),
            guards: serde_json::from_value(guards).unwrap(),
            state: "running".into(),
            step: 0,
            step_started_at: 1_000,
            reason: String::new(),
            evidence: json!({}),
            created_by: "t".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    /// `n` calls of `arm`, `errors` of them failed, each `latency_ms` and `cost` µ$.
    fn arm(name: &str, n: usize, errors: usize, latency_ms: i64, cost: i64) -> ArmStats {
        let samples: Vec<ArmSample> = (0..n)
            .map(|i| (name.to_owned(), i < errors, latency_ms * 1000, cost))
            .collect();
        ArmStats::of(name, &samples)
    }

    #[test]
    fn holds_until_dwell_and_samples_then_advances() {
        let r = rollout(json!({}));
        let (b, c) = (arm("v1", 500, 5, 100, 10), arm("v2", 60, 0, 100, 10));
        assert_eq!(decide(&r, &b, &c, 1_000 + 59_000), Decision::Hold);
        let few = arm("v2", 49, 0, 100, 10);
        assert_eq!(decide(&r, &b, &few, 1_000 + 61_000), Decision::Hold);
        assert!(matches!(
            decide(&r, &b, &c, 1_000 + 61_000),
            Decision::Advance { .. }
        ));
    }

    #[test]
    fn each_guard_rolls_back_and_says_why() {
        let b = arm("v1", 1000, 10, 100, 10);
        // 30% errors against 1%: breached and significant.
        let r = rollout(json!({"max_error_rate_increase": 0.05}));
        let Decision::RollBack { reason, evidence } =
            decide(&r, &b, &arm("v2", 50, 15, 100, 10), 2_000)
        else {
            panic!("not rolled back");
        };
        assert!(reason.starts_with("error rate 30.0%"), "{reason}");
        assert_eq!(evidence["guard"]["kind"], "error_rate");
        // 4 errors in 20 against 10% is over the limit but not significant (p = 0.07): held.
        let r = rollout(json!({"min_samples": 20, "max_error_rate_increase": 0.05}));
        let tenth = arm("v1", 1000, 100, 100, 10);
        assert_eq!(
            decide(&r, &tenth, &arm("v2", 20, 4, 100, 10), 2_000),
            Decision::Hold
        );
        // Below min_samples nothing is judged.
        assert_eq!(
            decide(&r, &b, &arm("v2", 19, 19, 100, 10), 2_000),
            Decision::Hold
        );
        let r = rollout(json!({"max_error_rate_increase": null, "max_p95_latency_ratio": 1.5}));
        assert!(matches!(
            decide(&r, &b, &arm("v2", 50, 0, 151, 10), 2_000),
            Decision::RollBack { .. }
        ));
        assert_eq!(
            decide(&r, &b, &arm("v2", 50, 0, 149, 10), 2_000),
            Decision::Hold
        );
        let r = rollout(json!({"max_error_rate_increase": null, "max_cost_per_call_ratio": 2.0}));
        assert!(matches!(
            decide(&r, &b, &arm("v2", 50, 0, 100, 21), 2_000),
            Decision::RollBack { .. }
        ));
        assert_eq!(
            decide(&r, &b, &arm("v2", 50, 0, 100, 20), 2_000),
            Decision::Hold
        );
    }
}
