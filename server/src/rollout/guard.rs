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

/// Judges `rollout`'s current step from its arms' figures since the step began.
pub fn decide(
    rollout: &Rollout,
    baseline: &ArmStats,
    candidate: &ArmStats,
    now_ms: i64,
) -> Decision {
    let guards = &rollout.guards;
    let mut evidence = json!({
        "step": rollout.step,
        "percent": rollout.percent(),
        "since": rollout.step_started_at,
        "baseline": baseline,
        "candidate": candidate,
    });
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
