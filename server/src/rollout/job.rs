//! The rollout job `serve` runs: every few seconds, each running rollout's arms since its
//! step began are judged ([`super::guard::decide`]) and the rollout moved on or back.

use std::time::Duration;

use super::guard::{Decision, decide};
use super::stats::ArmStats;
use crate::cluster::leader::Job;
use crate::state::AppState;
use crate::store::{AuditCtx, Result, Rollout, Transition};
use crate::util::now_ms;

/// How often the job looks, by default.
pub const EVERY: Duration = Duration::from_secs(2);

/// Runs the job until the process ends (a pass on each tick this replica leads it).
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !state.leaders.turn(Job::Rollouts) {
                continue;
            }
            if let Err(error) = run_once(&state).await {
                tracing::error!(%error, "rollouts not judged");
            }
        }
    })
}

/// The job's audit identity for `rollout`.
fn job_ctx(rollout: &Rollout) -> AuditCtx {
    AuditCtx {
        actor: format!("rollout:{}", rollout.name),
        role: "system".into(),
        source: "rollout-job".into(),
    }
}

/// The baseline's and the candidate's figures since `since_ms`.
pub async fn arms_since(
    state: &AppState,
    tenant_id: &str,
    rollout: &Rollout,
    since_ms: i64,
) -> Result<(ArmStats, ArmStats)> {
    let samples = state
        .store
        .tenant(tenant_id)
        .arm_samples(
            &rollout.model,
            [&rollout.baseline, &rollout.candidate],
            since_ms,
        )
        .await?;
    Ok((
        ArmStats::of(&rollout.baseline, &samples),
        ArmStats::of(&rollout.candidate, &samples),
    ))
}

/// Judges every running rollout once.
pub async fn run_once(state: &AppState) -> Result<()> {
    for (tenant_id, rollout) in state.store.running_rollouts().await? {
        if let Err(error) = judge(state, &tenant_id, &rollout).await {
            tracing::warn!(%error, rollout = %rollout.name, "rollout not judged");
        }
    }
    Ok(())
}

async fn judge(state: &AppState, tenant_id: &str, rollout: &Rollout) -> Result<()> {
    let (baseline, candidate) =
        arms_since(state, tenant_id, rollout, rollout.step_started_at).await?;
    let to = match decide(rollout, &baseline, &candidate, now_ms()) {
        Decision::Hold => return Ok(()),
        Decision::RollBack { reason, evidence } => Transition {
            state: "rolled_back",
            step: rollout.step,
            reason,
            evidence,
            action: "rollout.rollback",
        },
        Decision::Advance { reason, evidence } => {
            let next = rollout.step + 1;
            let last = next + 1 >= rollout.steps.len();
            Transition {
                state: if last { "completed" } else { "running" },
                step: next.min(rollout.steps.len().saturating_sub(1)),
                reason,
                evidence,
                action: "rollout.advance",
            }
        }
    };
    let moved = super::move_to(state, &job_ctx(rollout), tenant_id, rollout, to).await?;
    tracing::info!(rollout = %moved.name, state = %moved.state, step = moved.step, reason = %moved.reason, "rollout moved");
    Ok(())
}
