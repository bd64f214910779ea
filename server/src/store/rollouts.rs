//! Rollouts: a model's candidate version taken step by step to all of its traffic, or back
//! to the baseline (`docs/rollouts.md`). The rows say where each rollout stands; the
//! decisions are `crate::rollout`'s, the weights reach SDKs as config versions.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard::config::StickyKey;

use super::server_events::{self, NewEvent};
use super::{AuditCtx, AuditEntry, Page, Result, Store, StoreError, TenantStore, check_name};
use sqlx::Row as _;

use crate::usage::histogram::{BUCKETS, quantile};
use crate::util::{new_id, now_ms};

/// One step: the candidate's share, how long it holds, and how many candidate calls it
/// needs before the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutStep {
    /// Percent of the model's traffic (of its sticky keys) sent to the candidate.
    pub percent: f64,
    /// Seconds the step holds, healthy, before the next one.
    #[serde(default)]
    pub dwell_secs: u64,
    /// Candidate calls the step needs before the next one.
    #[serde(default)]
    pub min_samples: u64,
}

/// Limits on the candidate arm, each relative to the baseline arm over the current step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Guards {
    /// Candidate calls in the step before any guard is judged.
    pub min_samples: u64,
    /// Breached when the candidate's error rate exceeds the baseline's by more than this
    /// (0.05 = five points) and the difference is significant (one-sided z-test, p < `alpha`).
    pub max_error_rate_increase: Option<f64>,
    /// Breached when the candidate's p95 latency exceeds the baseline's times this.
    pub max_p95_latency_ratio: Option<f64>,
    /// Breached when the candidate's mean cost per call exceeds the baseline's times this.
    pub max_cost_per_call_ratio: Option<f64>,
    /// Significance level of the error-rate test.
    pub alpha: f64,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            min_samples: 20,
            max_error_rate_increase: Some(0.05),
            max_p95_latency_ratio: None,
            max_cost_per_call_ratio: None,
            alpha: 0.05,
        }
    }
}

/// What a client asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRollout {
    #[schema(schema_with = crate::schema_rules::name)]
    pub name: String,
    /// The model alias in the active config.
    #[schema(schema_with = crate::schema_rules::name)]
    pub model: String,
    /// Version label of the deployments serving now.
    #[schema(schema_with = crate::schema_rules::name)]
    pub baseline: String,
    /// Version label of the deployments being rolled out.
    #[schema(schema_with = crate::schema_rules::name)]
    pub candidate: String,
    pub steps: Vec<RolloutStep>,
    #[serde(default)]
    #[schema(value_type = String)]
    pub sticky_by: StickyKey,
    #[serde(default)]
    pub guards: Guards,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rollout {
    pub id: String,
    pub name: String,
    pub model: String,
    pub baseline: String,
    pub candidate: String,
    #[schema(value_type = String)]
    pub sticky_by: StickyKey,
    pub steps: Vec<RolloutStep>,
    pub guards: Guards,
    /// `running`, `paused`, `completed` or `rolled_back`.
    pub state: String,
    /// Index into `steps`.
    pub step: usize,
    pub step_started_at: i64,
    /// Why the last transition happened.
    pub reason: String,
    /// What the last decision saw (per-arm figures, the breached guard).
    #[schema(value_type = Object)]
    pub evidence: Value,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Rollout {
    /// The candidate's share now: the step's, 100 once completed, 0 once rolled back.
    pub fn percent(&self) -> f64 {
        match self.state.as_str() {
            "completed" => 100.0,
            "rolled_back" => 0.0,
            _ => self.steps.get(self.step).map_or(0.0, |s| s.percent),
        }
    }

    /// Still moving: the job looks at it, and it can be paused, promoted or aborted.
    pub fn is_live(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused")
    }
}

/// A transition to store: the state, step and why.
#[derive(Debug, Clone)]
pub struct Transition {
    pub state: &'static str,
    pub step: usize,
    pub reason: String,
    pub evidence: Value,
    /// `rollout.advance`, `rollout.pause`, ... for the audit log.
    pub action: &'static str,
}

impl NewRollout {
    /// Names, distinct arms, rising percents, sane guards.
    pub fn check(&self) -> Result<()> {
        check_name("name", &self.name)?;
        check_name("model", &self.model)?;
        check_name("baseline", &self.baseline)?;
        check_name("candidate", &self.candidate)?;
        if self.baseline == self.candidate {
            return Err(StoreError::invalid(
                "candidate",
                "must differ from the baseline",
            ));
        }
        if self.steps.is_empty() {
            return Err(StoreError::invalid("steps", "at least one step"));
        }
        let mut previous = 0.0;
        for (i, s) in self.steps.iter().enumerate() {
            if !(s.percent.is_finite() && s.percent > previous && s.percent <= 100.0) {
                return Err(StoreError::invalid(
                    &format!("steps[{i}].percent"),
                    "percents rise, each in (0, 100]",
                ));
            }
            previous = s.percent;
        }
        let g = &self.guards;
        let ratios = [g.max_p95_latency_ratio, g.max_cost_per_call_ratio];
        if ratios
            .iter()
            .flatten()
            .any(|r| !(r.is_finite() && *r >= 1.0))
            || g.max_error_rate_increase
                .is_some_and(|d| !(d.is_finite() && (0.0..=1.0).contains(&d)))
            || !(g.alpha > 0.0 && g.alpha < 1.0)
        {
            return Err(StoreError::invalid(
                "guards",
                "ratios >= 1, the error-rate increase in [0, 1], alpha in (0, 1)",
            ));
        }
        Ok(())
    }
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    i64,
);
const COLUMNS: &str = "id, name, model, baseline, candidate, sticky_by, steps, guards, state, step, \
     step_started_at, reason, evidence, created_by, created_at, updated_at";

fn from_row(r: Row) -> Rollout {
    let sticky_by = serde_json::from_value(Value::String(r.5)).unwrap_or_default();
    Rollout {
        id: r.0,
        name: r.1,
        model: r.2,
        baseline: r.3,
        candidate: r.4,
        sticky_by,
        steps: serde_json::from_str(&r.6).unwrap_or_default(),
        guards: serde_json::from_str(&r.7).unwrap_or_default(),
        state: r.8,
        step: usize::try_from(r.9).unwrap_or(0),
        step_started_at: r.10,
        reason: r.11,
        evidence: serde_json::from_str(&r.12).unwrap_or(Value::Null),
        created_by: r.13,
        created_at: r.14,
        updated_at: r.15,
    }
}

fn json_text<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(e.to_string()))
}

/// One usage event of a rollout's arm: (arm, failed, latency µs, cost µ$).
pub type ArmSample = (String, bool, i64, i64);

impl TenantStore<'_> {
    /// Stores a new rollout at its first step, `running`. The caller has already activated
    /// the first step's weights.
    pub async fn create_rollout(&self, ctx: &AuditCtx, new: &NewRollout) -> Result<Rollout> {
        new.check()?;
        let now = now_ms();
        let rollout = Rollout {
            id: new_id("rol"),
            name: new.name.clone(),
            model: new.model.clone(),
            baseline: new.baseline.clone(),
            candidate: new.candidate.clone(),
            sticky_by: new.sticky_by,
            steps: new.steps.clone(),
            guards: new.guards.clone(),
            state: "running".into(),
            step: 0,
            step_started_at: now,
            reason: "started".into(),
            evidence: Value::Object(Default::default()),
            created_by: ctx.actor.clone(),
            created_at: now,
            updated_at: now,
        };
        let sticky = serde_json::to_value(rollout.sticky_by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut tx = self.write().await?;
        sqlx::query(&format!(
            "INSERT INTO rollouts (tenant_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&self.tenant_id)
        .bind(&rollout.id)
        .bind(&rollout.name)
        .bind(&rollout.model)
        .bind(&rollout.baseline)
        .bind(&rollout.candidate)
        .bind(sticky)
        .bind(json_text(&rollout.steps)?)
        .bind(json_text(&rollout.guards)?)
        .bind(&rollout.state)
        .bind(0_i64)
        .bind(now)
        .bind(&rollout.reason)
        .bind(rollout.evidence.to_string())
        .bind(&rollout.created_by)
        .bind(now)
        .bind(now)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| StoreError::from(e).on_field("name"))?;
        tx.audit(AuditEntry::new(
            ctx,
            Some(&self.tenant_id),
            "rollout.create",
            &rollout.id,
        ))
        .await?;
        tx.commit().await?;
        Ok(rollout)
    }

    pub async fn get_rollout(&self, id: &str) -> Result<Rollout> {
        let row: Row = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM rollouts WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(from_row(row))
    }

    pub async fn list_rollouts(&self, page: Page) -> Result<Vec<Rollout>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM rollouts WHERE tenant_id = $1 ORDER BY created_at DESC, id \
             LIMIT $2 OFFSET $3"
        ))
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Another live rollout of the same model, if any: one at a time per model.
    pub async fn live_rollout_of(&self, model: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM rollouts WHERE tenant_id = $1 AND model = $2 \
             AND state IN ('running', 'paused') LIMIT 1",
        )
        .bind(&self.tenant_id)
        .bind(model)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(|(name,)| name))
    }

    /// Moves `rollout` on, if it is still where the caller saw it (same state and step):
    /// the job and a person acting at once cannot both move it. Audited; a roll back or a
    /// completion is also recorded as a server event for the alerts.
    pub async fn transition_rollout(
        &self,
        ctx: &AuditCtx,
        rollout: &Rollout,
        to: Transition,
    ) -> Result<Rollout> {
        let now = now_ms();
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE rollouts SET state = $1, step = $2, step_started_at = $3, reason = $4, \
             evidence = $5, updated_at = $3 WHERE tenant_id = $6 AND id = $7 AND state = $8 \
             AND step = $9",
        )
        .bind(to.state)
        .bind(i64::try_from(to.step).unwrap_or(i64::MAX))
        .bind(now)
        .bind(&to.reason)
        .bind(to.evidence.to_string())
        .bind(&self.tenant_id)
        .bind(&rollout.id)
        .bind(&rollout.state)
        .bind(i64::try_from(rollout.step).unwrap_or(i64::MAX))
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                field: "state".into(),
                message: "the rollout moved meanwhile".into(),
            });
        }
        let kind = match to.state {
            "rolled_back" => Some("rollout.rolled_back"),
            "completed" => Some("rollout.completed"),
            _ => None,
        };
        if let Some(kind) = kind {
            let detail = serde_json::json!({
                "rollout": rollout.name,
                "model": rollout.model,
                "baseline": rollout.baseline,
                "candidate": rollout.candidate,
                "reason": to.reason,
                "evidence": to.evidence,
            });
            let event = NewEvent {
                kind,
                subject_id: &rollout.id,
                period_start: rollout.created_at,
                detail: &detail,
            };
            server_events::insert(&mut tx.tx, &self.tenant_id, &event, now).await?;
        }
        tx.audit(AuditEntry::new(
            ctx,
            Some(&self.tenant_id),
            to.action,
            &rollout.id,
        ))
        .await?;
        tx.commit().await?;
        self.get_rollout(&rollout.id).await
    }

    /// Usage events of `model` served by one of `arms`, from `since_ms` on.
    pub async fn arm_samples(
        &self,
        model: &str,
        arms: [&str; 2],
        since_ms: i64,
    ) -> Result<Vec<ArmSample>> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT arm, CASE WHEN error_code IS NULL THEN 0 ELSE 1 END, latency_us, cost_micros \
             FROM usage_events WHERE tenant_id = $1 AND model = $2 AND time_ms >= $3 \
             AND arm IN ($4, $5)",
        )
        .bind(&self.tenant_id)
        .bind(model)
        .bind(since_ms)
        .bind(arms[0])
        .bind(arms[1])
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(arm, failed, latency, cost)| (arm, failed != 0, latency, cost))
            .collect())
    }
}

/// One minute of one arm, from the per-arm rollups.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ArmMinute {
    pub minute: i64,
    pub arm: String,
    pub calls: i64,
    pub errors: i64,
    pub cost_usd: f64,
    /// Estimated from the latency histogram (`docs/usage.md`); null without calls.
    pub p95_latency_ms: Option<f64>,
}

impl TenantStore<'_> {
    /// Per minute and arm from `since_ms` on, from `usage_arm_minute` (all apps summed).
    pub async fn arm_series(
        &self,
        model: &str,
        arms: [&str; 2],
        since_ms: i64,
    ) -> Result<Vec<ArmMinute>> {
        let lat: Vec<String> = (0..BUCKETS)
            .map(|i| format!("CAST(SUM(lat_{i}) AS BIGINT)"))
            .collect();
        let sql = format!(
            "SELECT minute, arm, CAST(SUM(calls) AS BIGINT), CAST(SUM(errors) AS BIGINT), \
             CAST(SUM(cost_micros) AS BIGINT), {} FROM usage_arm_minute \
             WHERE tenant_id = $1 AND model = $2 AND minute >= $3 AND arm IN ($4, $5) \
             GROUP BY minute, arm ORDER BY minute, arm",
            lat.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tenant_id)
            .bind(model)
            .bind(since_ms - since_ms.rem_euclid(60_000))
            .bind(arms[0])
            .bind(arms[1])
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let mut counts = [0_i64; BUCKETS];
                for (i, c) in counts.iter_mut().enumerate() {
                    *c = row.try_get(5 + i)?;
                }
                Ok(ArmMinute {
                    minute: row.try_get(0)?,
                    arm: row.try_get(1)?,
                    calls: row.try_get(2)?,
                    errors: row.try_get(3)?,
                    cost_usd: row.try_get::<i64, _>(4)? as f64 / 1e6,
                    p95_latency_ms: quantile(&counts, 0.95),
                })
            })
            .collect()
    }
}

impl Store {
    /// Every running rollout, of every tenant: (tenant id, rollout).
    pub async fn running_rollouts(&self) -> Result<Vec<(String, Rollout)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, id FROM rollouts WHERE state = 'running' ORDER BY created_at",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (tenant, id) in rows {
            let rollout = self.tenant(&tenant).get_rollout(&id).await?;
            out.push((tenant, rollout));
        }
        Ok(out)
    }
}
