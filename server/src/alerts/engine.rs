//! The evaluator: every few seconds, each rule of each tenant reads its condition, steps
//! its per-subject state (pending → firing → resolved), and hands the changes, grouped per
//! rule and status, to the notifier. A condition must hold for the rule's `for_ms` before
//! it fires, and a firing rule is re-notified at most every `renotify_ms`: a flapping
//! deployment gives one notification, not a storm.

use std::time::Duration;

use super::actions::Action;
use super::notify::{AlertItem, Notification, Notifier};
use super::rule::{Observation, kind_of};
use crate::cluster::leader::Job;
use crate::state::AppState;
use crate::store::{AlertRule, AlertState, Result, StoreError};
use crate::util::now_ms;

/// How often rules are evaluated and how deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct AlertSettings {
    pub interval: Duration,
    pub attempts: u32,
    pub backoff: Duration,
    pub timeout: Duration,
    /// The lease grace a budget's standing is read with.
    pub grace_ms: i64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            interval: Duration::from_secs(5),
            attempts: 5,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            grace_ms: crate::store::LeaseSettings::default().grace_ms,
        }
    }
}

/// What one evaluation of one rule changes.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// States to write.
    pub writes: Vec<AlertState>,
    /// Subjects that fired (or are re-notified), and that resolved.
    pub fired: Vec<AlertState>,
    /// Of `fired`, the subjects that started firing now (not re-notified).
    pub started: Vec<String>,
    pub resolved: Vec<AlertState>,
}

/// Steps each subject's state given what the condition reads now. Pure: the rules of
/// firing, resolving and re-notifying in one place, tested without a database.
pub fn step(rule: &AlertRule, states: &[AlertState], observed: &[Observation], now: i64) -> Step {
    let mut out = Step::default();
    let mut subjects: Vec<&str> = states.iter().map(|s| s.subject.as_str()).collect();
    for o in observed.iter().filter(|o| o.holds) {
        if !subjects.contains(&o.subject.as_str()) {
            subjects.push(&o.subject);
        }
    }
    for subject in subjects {
        let seen = observed.iter().find(|o| o.subject == subject);
        let holds = seen.is_some_and(|o| o.holds);
        let value = seen.map_or(0.0, |o| o.value);
        let prev = states.iter().find(|s| s.subject == subject);
        let state = |state: &str, since: i64, notified_at: Option<i64>| AlertState {
            rule_id: rule.id.clone(),
            subject: subject.to_owned(),
            state: state.to_owned(),
            since,
            value,
            notified_at,
        };
        let prev_state = prev.map_or("resolved", |p| p.state.as_str());
        match (holds, prev_state) {
            (true, "pending") => {
                let since = prev.map_or(now, |p| p.since);
                if now - since >= rule.for_ms {
                    let s = state("firing", now, Some(now));
                    out.started.push(s.subject.clone());
                    out.fired.push(s.clone());
                    out.writes.push(s);
                }
            }
            (true, "firing") => {
                let last = prev.and_then(|p| p.notified_at).unwrap_or(0);
                if now - last >= rule.renotify_ms {
                    let s = state("firing", prev.map_or(now, |p| p.since), Some(now));
                    out.fired.push(s.clone());
                    out.writes.push(s);
                }
            }
            (true, _) if rule.for_ms <= 0 => {
                let s = state("firing", now, Some(now));
                out.started.push(s.subject.clone());
                out.fired.push(s.clone());
                out.writes.push(s);
            }
            (true, _) => out.writes.push(state("pending", now, None)),
            (false, "pending") => {
                out.writes
                    .push(state("resolved", now, prev.and_then(|p| p.notified_at)))
            }
            (false, "firing") => {
                let s = state("resolved", now, Some(now));
                out.resolved.push(s.clone());
                out.writes.push(s);
            }
            (false, _) => {}
        }
    }
    out
}

/// Starts the evaluator; it runs until the runtime stops, evaluating on each tick this
/// replica leads the job.
pub fn spawn(state: AppState, settings: AlertSettings) -> tokio::task::JoinHandle<()> {
    let notifier = Notifier::new(
        state.store.clone(),
        state.master_key.clone(),
        settings.attempts,
        settings.backoff,
        settings.timeout,
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if !state.leaders.turn(Job::Alerts) {
                continue;
            }
            if let Err(error) = evaluate_all(&state, &notifier, &settings, now_ms()).await {
                tracing::warn!(%error, "alert rules not evaluated");
            }
        }
    })
}

/// One pass over every rule. A rule that fails to evaluate is logged and skipped.
pub async fn evaluate_all(
    state: &AppState,
    notifier: &Notifier,
    settings: &AlertSettings,
    now: i64,
) -> Result<()> {
    for (tenant_id, rule) in state.store.all_alert_rules().await? {
        if let Err(error) = evaluate(state, notifier, settings, &tenant_id, &rule, now).await {
            tracing::warn!(%error, rule = rule.id, "alert rule not evaluated");
        }
    }
    Ok(())
}

async fn evaluate(
    state: &AppState,
    notifier: &Notifier,
    settings: &AlertSettings,
    tenant_id: &str,
    rule: &AlertRule,
    now: i64,
) -> Result<()> {
    let kind = kind_of(rule)?;
    let tenant = state.store.tenant(tenant_id);
    let observed = kind.observe(&tenant, now, settings.grace_ms).await?;
    let states = tenant.alert_states(Some(&rule.id)).await?;
    let mut step = step(rule, &states, &observed, now);
    // Only the states this pass wrote are its to notify and act on: a replica that
    // evaluated the same rule a moment earlier (the job changing hands) did the rest.
    let mut lost: Vec<String> = Vec::new();
    for s in &step.writes {
        let prev = states.iter().find(|p| p.subject == s.subject);
        if !tenant.put_alert_state(s, prev).await? {
            lost.push(s.subject.clone());
        }
    }
    if !lost.is_empty() {
        tracing::info!(
            rule = rule.id,
            subjects = lost.len(),
            "alert states changed by another evaluator: left to it"
        );
        step.fired.retain(|s| !lost.contains(&s.subject));
        step.resolved.retain(|s| !lost.contains(&s.subject));
        step.started.retain(|s| !lost.contains(s));
    }
    let mut done: Vec<(String, String)> = Vec::new();
    if let Some(action) = &rule.action {
        let action: Action = serde_json::from_value(action.clone())
            .map_err(|e| StoreError::Internal(format!("rule {}: {e}", rule.id)))?;
        for subject in &step.started {
            let outcome = match action.run(state, tenant_id, rule, subject).await {
                Ok(did) => did,
                Err(error) => format!("action failed: {error}"),
            };
            tracing::info!(rule = rule.id, subject, outcome, "alert action");
            done.push((subject.clone(), outcome));
        }
    }
    for (status, changed) in [("firing", step.fired), ("resolved", step.resolved)] {
        if changed.is_empty() {
            continue;
        }
        tracing::info!(rule = rule.id, status, subjects = changed.len(), "alert");
        let notification = Notification {
            tenant_id: tenant_id.to_owned(),
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            kind: rule.kind.clone(),
            status,
            alerts: changed
                .into_iter()
                .map(|s| AlertItem {
                    action: done
                        .iter()
                        .find(|(subject, _)| status == "firing" && *subject == s.subject)
                        .map(|(_, did)| did.clone()),
                    subject: s.subject,
                    value: s.value,
                    since: s.since,
                })
                .collect(),
            sent_at: now,
        };
        for channel_id in &rule.channel_ids {
            notifier.spawn(channel_id.clone(), notification.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(for_ms: i64, renotify_ms: i64) -> AlertRule {
        AlertRule {
            id: "alr_1".into(),
            name: "r".into(),
            kind: "error_rate".into(),
            params: serde_json::json!({}),
            channel_ids: vec!["ach_1".into()],
            action: None,
            for_ms,
            renotify_ms,
            created_at: 0,
        }
    }

    fn seen(holds: bool) -> Vec<Observation> {
        vec![Observation {
            subject: "openai/a".into(),
            value: 1.0,
            holds,
        }]
    }

    /// Runs `pattern` (one reading a second) through `step`: (fired, resolved) counts.
    fn run(rule: &AlertRule, pattern: &[bool]) -> (usize, usize) {
        let mut states: Vec<AlertState> = Vec::new();
        let (mut fired, mut resolved) = (0, 0);
        for (i, holds) in pattern.iter().enumerate() {
            let s = step(rule, &states, &seen(*holds), i as i64 * 1000);
            fired += s.fired.len();
            resolved += s.resolved.len();
            for w in s.writes {
                states.retain(|x| x.subject != w.subject);
                states.push(w);
            }
        }
        (fired, resolved)
    }

    #[test]
    fn a_flapping_condition_shorter_than_for_ms_never_fires() {
        let flapping: Vec<bool> = (0..120).map(|i| i % 4 < 2).collect();
        assert_eq!(run(&rule(5_000, 3_600_000), &flapping), (0, 0));
    }

    #[test]
    fn a_held_condition_fires_once_after_for_ms_and_resolves_once() {
        let mut pattern = vec![true; 30];
        pattern.extend([false; 10]);
        assert_eq!(run(&rule(5_000, 3_600_000), &pattern), (1, 1));
        // Fired at the reading 5 s after the first: pending until then.
        let r = rule(5_000, 3_600_000);
        let mut states = Vec::new();
        for t in 0..6 {
            let s = step(&r, &states, &seen(true), t * 1000);
            assert_eq!(s.fired.len(), usize::from(t == 5), "t={t}");
            states = s.writes.into_iter().chain(states).take(1).collect();
        }
    }

    #[test]
    fn a_flapping_condition_without_for_ms_is_grouped_by_renotify_only_while_firing() {
        // Firing for a minute: one notification, then one re-notification after 20 s each.
        assert_eq!(run(&rule(0, 20_000), &[true; 60]), (3, 0));
    }
}
