//! Rollouts driven by the server (`docs/rollouts.md`): each step's split activated as a
//! config version, a job that judges the running ones from their arms' usage, and the
//! A/B report. Everything that moves a rollout goes through [`move_to`].

pub mod guard;
pub mod job;
pub mod stats;
pub mod weights;

use serde_json::Value;

use crate::state::AppState;
use crate::store::{AuditCtx, NewRollout, Result, Rollout, StoreError, Transition};
use weights::Split;

fn split_of<'a>(rollout: &'a Rollout, percent: f64) -> Split<'a> {
    Split {
        model: &rollout.model,
        baseline: &rollout.baseline,
        candidate: &rollout.candidate,
        sticky_by: rollout.sticky_by,
        percent,
    }
}

/// Starts a rollout: its first step's split is activated, then the rollout stored.
pub async fn start(
    state: &AppState,
    ctx: &AuditCtx,
    tenant_id: &str,
    new: &NewRollout,
) -> Result<Rollout> {
    new.check()?;
    let tenant = state.store.tenant(tenant_id);
    if let Some(other) = tenant.live_rollout_of(&new.model).await? {
        return Err(StoreError::Conflict {
            field: "model".into(),
            message: format!("rollout '{other}' of this model is still live"),
        });
    }
    let first = new.steps.first().map_or(0.0, |s| s.percent);
    let split = Split {
        model: &new.model,
        baseline: &new.baseline,
        candidate: &new.candidate,
        sticky_by: new.sticky_by,
        percent: first,
    };
    let document = weights::document_with(state, tenant_id, &split).await?;
    let rollout = tenant.create_rollout(ctx, new).await?;
    let reason = format!("rollout {}: step 1 ({first}%), started", rollout.name);
    weights::activate(state, ctx, tenant_id, &document, &reason).await?;
    Ok(rollout)
}

/// Moves `rollout` to `to`: when the candidate's share changes, the new split is activated
/// first (labelled with the reason), then the rollout stored.
pub async fn move_to(
    state: &AppState,
    ctx: &AuditCtx,
    tenant_id: &str,
    rollout: &Rollout,
    to: Transition,
) -> Result<Rollout> {
    let percent = match to.state {
        "completed" => 100.0,
        "rolled_back" => 0.0,
        _ => rollout.steps.get(to.step).map_or(0.0, |s| s.percent),
    };
    if (percent - rollout.percent()).abs() > f64::EPSILON {
        let document =
            weights::document_with(state, tenant_id, &split_of(rollout, percent)).await?;
        let reason = format!("rollout {}: {percent}% ({})", rollout.name, to.reason);
        weights::activate(state, ctx, tenant_id, &document, &reason).await?;
    }
    state
        .store
        .tenant(tenant_id)
        .transition_rollout(ctx, rollout, to)
        .await
}

/// The transition a person asks for by `action` (`pause`, `resume`, `promote`, `abort`);
/// None when the rollout is already where `action` would put it (pausing a paused one).
pub fn manual(rollout: &Rollout, action: &str, actor: &str) -> Result<Option<Transition>> {
    if !rollout.is_live() {
        return Err(StoreError::Conflict {
            field: "state".into(),
            message: format!("the rollout is over ({})", rollout.state),
        });
    }
    let (state, step, action) = match (action, rollout.state.as_str()) {
        ("pause", "paused") | ("resume", "running") => return Ok(None),
        ("pause", _) => ("paused", rollout.step, "rollout.pause"),
        ("resume", _) => ("running", rollout.step, "rollout.resume"),
        ("promote", _) => (
            "completed",
            rollout.steps.len().saturating_sub(1),
            "rollout.promote",
        ),
        ("abort", _) => ("rolled_back", rollout.step, "rollout.abort"),
        _ => {
            return Err(StoreError::invalid(
                "action",
                "pause, resume, promote or abort",
            ));
        }
    };
    Ok(Some(Transition {
        state,
        step,
        reason: format!("{} by {actor}", action.trim_start_matches("rollout.")),
        evidence: Value::Object(Default::default()),
        action,
    }))
}
