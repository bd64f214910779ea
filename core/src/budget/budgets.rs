//! Budgets by scope: reserve an estimate before a call, settle the actual cost after.
//!
//! Hard budgets reserve, so concurrent calls cannot jointly promise more than the limit:
//! with estimates that are upper bounds (see [`crate::estimate`]) no amount of concurrency
//! overshoots a hard budget. When an actual cost exceeds its estimate the excess is
//! recorded anyway; the overshoot is then at most the excess of the calls in flight at
//! once (at most one call's excess when calls run one after another).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{BudgetAction, BudgetConfig, BudgetMode};
use crate::error::{Error, ErrorKind};

use super::leased::LeasedHold;
use super::period::{calendar_start, rolling_start};
use super::scope::CallScope;
use super::source::{AccountKey, BudgetSource, sane};
use crate::lease::LeaseBook;

/// Every configured budget, over one store of budget state.
pub struct Budgets {
    rules: Vec<BudgetConfig>,
    /// The server's budgets, leased to this instance; and the config's local model, for
    /// their `local` policy.
    lease: Option<(Arc<LeaseBook>, Option<String>)>,
    source: Arc<dyn BudgetSource>,
    /// First use of each rolling (non-calendar) budget per scope value, in this process;
    /// one map per rule, so a lookup by `&str` allocates nothing.
    anchors: Mutex<Vec<HashMap<String, i64>>>,
}

/// A hard budget said no.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRefusal {
    pub budget: String,
    pub action: BudgetAction,
    /// The model to send the call to instead, when `action` is reroute.
    pub reroute_to: Option<String>,
    pub limit_usd: f64,
    pub spent_usd: f64,
    pub kind: RefusalKind,
    /// A leased slice refused while its budget still has room on the server: a renewal
    /// may grant more, so admission waits for one before giving up.
    pub leased: bool,
}

/// Why a budget said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The call would spend past the budget (or this instance's slice of it).
    Exceeded,
    /// A leased budget's lease expired with the server away, and its policy is to deny.
    Unavailable,
}

impl BudgetRefusal {
    pub fn into_error(self) -> Error {
        if self.kind == RefusalKind::Unavailable {
            tracing::warn!(budget = %self.budget, "leased budget unavailable: refused a call");
            let message = format!(
                "budget '{}' cannot be checked: its lease expired and the management server cannot be reached",
                self.budget
            );
            return Error::new(
                ErrorKind::BudgetUnavailable {
                    budget: self.budget,
                },
                message,
            );
        }
        tracing::info!(
            budget = %self.budget,
            spent_usd = self.spent_usd,
            limit_usd = self.limit_usd,
            "budget refused a call"
        );
        let message = format!(
            "budget '{}' would be exceeded: ${:.4} of ${:.4} spent this period",
            self.budget, self.spent_usd, self.limit_usd
        );
        Error::new(
            ErrorKind::BudgetExceeded {
                budget: self.budget,
            },
            message,
        )
    }
}

/// A soft budget's spend crossed its limit with this call (reported once per period).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetEvent {
    pub budget: String,
    pub scope_value: String,
    pub spent_usd: f64,
    pub limit_usd: f64,
}

#[derive(Debug)]
struct Held {
    key: AccountKey,
    reserved: f64,
    mode: BudgetMode,
    limit_usd: f64,
}

/// Money set aside for one call in every budget that applies to it.
///
/// RAII: dropping it unsettled releases the reservation (a canceled call spends nothing).
#[must_use = "settle the reservation with the call's actual cost, or drop it to release"]
pub struct Reservation {
    source: Arc<dyn BudgetSource>,
    held: Vec<Held>,
    /// Holds in the slices of server-side budgets leased to this instance.
    leased: Vec<LeasedHold>,
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("held", &self.held)
            .field("leased", &self.leased)
            .finish()
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    // A clock before 1970 is a misconfigured host; treat it as the epoch.
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Budgets {
    pub fn new(configs: &[BudgetConfig], source: Arc<dyn BudgetSource>) -> Self {
        Budgets {
            rules: configs.to_vec(),
            lease: None,
            source,
            anchors: Mutex::new(vec![HashMap::new(); configs.len()]),
        }
    }

    /// Also reserve in the slices of `book`, the server's budgets leased to this
    /// instance; `local` is the config's local model, where their `local` policy sends
    /// calls.
    pub fn with_lease(mut self, book: Arc<LeaseBook>, local: Option<String>) -> Self {
        self.lease = Some((book, local));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.lease.is_none()
    }

    /// Whether a hard budget applies to `scope`: only then does the estimate matter, so
    /// the caller can skip counting tokens when none does.
    pub fn holds_for(&self, scope: &CallScope) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|(book, _)| book.holds_for(&scope.model))
            || self.rules.iter().any(|rule| {
                rule.mode == BudgetMode::Hard && scope.matches(rule.scope, rule.value.as_deref())
            })
    }

    fn period_start(&self, i: usize, rule: &BudgetConfig, value: &str, now: i64) -> i64 {
        if rule.calendar_aligned {
            return calendar_start(rule.period, now);
        }
        let mut anchors = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        let Some(rule_anchors) = anchors.get_mut(i) else {
            return rolling_start(rule.period, now, now);
        };
        let anchor = match rule_anchors.get(value) {
            Some(a) => *a,
            None => *rule_anchors.entry(value.to_owned()).or_insert(now),
        };
        rolling_start(rule.period, anchor, now)
    }

    /// Reserve `estimate_usd` in every budget that applies to `scope` (a budget applies
    /// when its scope kind has a value in `scope` and `value` is None or equal; tags: any
    /// tag). All-or-nothing: if one hard budget refuses, the others are released and the
    /// refusal returned. Soft budgets reserve nothing and never refuse.
    pub fn reserve(
        &self,
        scope: &CallScope,
        estimate_usd: f64,
        now: SystemTime,
    ) -> Result<Reservation, BudgetRefusal> {
        let estimate = sane(estimate_usd);
        let now = unix_secs(now);
        let mut reservation = Reservation {
            source: Arc::clone(&self.source),
            held: Vec::new(),
            leased: Vec::new(),
        };
        for (i, rule) in self.rules.iter().enumerate() {
            for value in scope.values(rule.scope, rule.value.as_deref()) {
                let key = AccountKey {
                    budget: rule.name.clone(),
                    scope_value: value.to_owned(),
                    period_start: self.period_start(i, rule, value, now),
                };
                let reserved = match rule.mode {
                    // Nothing to hold for a call estimated to cost nothing (an in-process or
                    // unpriced model): it cannot overspend, even a budget already over its
                    // limit, which is exactly when a reroute to such a model must get through.
                    BudgetMode::Soft => 0.0,
                    BudgetMode::Hard if estimate <= 0.0 => 0.0,
                    BudgetMode::Hard => {
                        if !self.source.try_reserve(&key, rule.limit_usd, estimate) {
                            let spent_usd = self.source.spent(&key);
                            // Debug: admission may try again with a smaller, exact estimate;
                            // the call's final refusal is logged by `into_error`.
                            tracing::debug!(
                                budget = %rule.name,
                                scope_value = value,
                                spent_usd,
                                limit_usd = rule.limit_usd,
                                estimate_usd = estimate,
                                "budget refused a reservation"
                            );
                            // `reservation` drops here, releasing what it holds.
                            return Err(BudgetRefusal {
                                budget: rule.name.clone(),
                                action: rule.action,
                                reroute_to: rule.reroute_to.clone(),
                                limit_usd: rule.limit_usd,
                                spent_usd,
                                kind: RefusalKind::Exceeded,
                                leased: false,
                            });
                        }
                        estimate
                    }
                };
                reservation.held.push(Held {
                    key,
                    reserved,
                    mode: rule.mode,
                    limit_usd: rule.limit_usd,
                });
            }
        }
        if let Some((book, local)) = &self.lease {
            // On a refusal `reservation` drops, releasing the local and leased holds.
            book.reserve(
                &scope.model,
                estimate,
                local.as_deref(),
                &mut reservation.leased,
            )?;
        }
        Ok(reservation)
    }
}

impl Reservation {
    /// How many budget accounts this call is counted in.
    pub fn accounts(&self) -> usize {
        self.held.len() + self.leased.len()
    }

    /// Whether the call holds a slice of a server-side budget.
    pub fn is_leased(&self) -> bool {
        !self.leased.is_empty()
    }

    /// Replace the reservation by the call's actual cost. Returns the soft budgets whose
    /// limit this call's spend crossed.
    pub fn settle(mut self, actual_usd: f64) -> Vec<BudgetEvent> {
        let actual = sane(actual_usd);
        let mut events = Vec::new();
        // Leased soft budgets are watched by the server, from the usage it ingests.
        for held in std::mem::take(&mut self.leased) {
            held.account.settle(held.reserved, actual);
        }
        for held in std::mem::take(&mut self.held) {
            let after = self.source.settle(&held.key, held.reserved, actual);
            if actual > held.reserved && held.mode == BudgetMode::Hard {
                tracing::debug!(
                    budget = %held.key.budget,
                    reserved_usd = held.reserved,
                    actual_usd = actual,
                    "call cost more than its reservation"
                );
            }
            let before = after - actual;
            if held.mode == BudgetMode::Soft && before < held.limit_usd && after >= held.limit_usd {
                tracing::warn!(
                    budget = %held.key.budget,
                    scope_value = %held.key.scope_value,
                    spent_usd = after,
                    limit_usd = held.limit_usd,
                    "soft budget exceeded"
                );
                events.push(BudgetEvent {
                    budget: held.key.budget,
                    scope_value: held.key.scope_value,
                    spent_usd: after,
                    limit_usd: held.limit_usd,
                });
            }
        }
        events
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        for held in self.leased.drain(..) {
            held.account.release(held.reserved);
        }
        for held in self.held.drain(..) {
            if held.reserved > 0.0 {
                self.source.release(&held.key, held.reserved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rand::Rng;

    use super::*;
    use crate::budget::InMemoryBudgets;
    use crate::config::{Period, ScopeKind};

    fn budget(name: &str, scope: ScopeKind, limit: f64) -> BudgetConfig {
        BudgetConfig {
            name: name.into(),
            scope,
            value: None,
            period: Period::Day,
            calendar_aligned: true,
            limit_usd: limit,
            mode: BudgetMode::Hard,
            action: BudgetAction::Reject,
            reroute_to: None,
        }
    }

    fn user(u: &str) -> CallScope {
        CallScope {
            tenant: Some("acme".into()),
            user: Some(u.into()),
            ..CallScope::new("chat")
        }
    }

    fn budgets(configs: &[BudgetConfig]) -> Budgets {
        Budgets::new(configs, Arc::new(InMemoryBudgets::new()))
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const NOW: u64 = 1_795_700_730;

    #[test]
    fn refuses_past_the_limit_and_names_the_budget() {
        let b = budgets(&[budget("daily", ScopeKind::User, 1.0)]);
        let r = b.reserve(&user("a"), 0.7, at(NOW)).unwrap();
        assert!(r.settle(0.7).is_empty());
        let refusal = b.reserve(&user("a"), 0.5, at(NOW)).unwrap_err();
        assert_eq!(refusal.budget, "daily");
        assert!((refusal.spent_usd - 0.7).abs() < 1e-9);
        let err = refusal.into_error();
        assert_eq!(
            err.kind(),
            &ErrorKind::BudgetExceeded {
                budget: "daily".into()
            }
        );
        // Another user has their own account; the next day starts afresh.
        assert!(b.reserve(&user("b"), 0.5, at(NOW)).is_ok());
        assert!(b.reserve(&user("a"), 0.5, at(NOW + 86_400)).is_ok());
    }

    #[test]
    fn a_call_that_costs_nothing_passes_an_overspent_budget() {
        let b = budgets(&[budget("daily", ScopeKind::User, 1.0)]);
        // The one call in flight pushed spend past the limit.
        b.reserve(&user("a"), 0.9, at(NOW)).unwrap().settle(1.2);
        assert!(b.reserve(&user("a"), 0.01, at(NOW)).is_err());
        // A reroute to the in-process model estimates $0: it must get through, and what it
        // is charged (nothing) is settled like any call.
        let free = b
            .reserve(&user("a"), 0.0, at(NOW))
            .expect("a $0 call is never refused");
        assert!(free.settle(0.0).is_empty());
        assert!(b.reserve(&user("a"), 0.01, at(NOW)).is_err());
    }

    #[test]
    fn dropping_releases() {
        let b = budgets(&[budget("daily", ScopeKind::User, 1.0)]);
        let r = b.reserve(&user("a"), 1.0, at(NOW)).unwrap();
        assert!(b.reserve(&user("a"), 0.1, at(NOW)).is_err());
        drop(r);
        assert!(b.reserve(&user("a"), 1.0, at(NOW)).is_ok());
    }

    #[test]
    fn all_or_nothing_across_budgets() {
        let b = budgets(&[
            budget("tenant", ScopeKind::Tenant, 10.0),
            budget("user", ScopeKind::User, 1.0),
        ]);
        let r = b.reserve(&user("a"), 1.0, at(NOW)).unwrap();
        assert_eq!(r.accounts(), 2);
        // The user budget refuses; the tenant reservation must not stick.
        for _ in 0..20 {
            assert_eq!(
                b.reserve(&user("a"), 1.0, at(NOW)).unwrap_err().budget,
                "user"
            );
        }
        drop(r);
        // Tenant has 10.0 free again: 9 more users at 1.0 each plus one more fit.
        let held: Vec<_> = (0..10)
            .map(|i| b.reserve(&user(&format!("u{i}")), 1.0, at(NOW)).unwrap())
            .collect();
        assert_eq!(
            b.reserve(&user("z"), 0.5, at(NOW)).unwrap_err().budget,
            "tenant"
        );
        drop(held);
    }

    #[test]
    fn value_filters_and_tags() {
        let mut only_vip = budget("vip", ScopeKind::User, 0.0);
        only_vip.value = Some("vip".into());
        let tags = budget("per-tag", ScopeKind::Tag, 1.0);
        let b = budgets(&[only_vip, tags]);
        assert!(b.reserve(&user("a"), 0.5, at(NOW)).is_ok());
        assert_eq!(
            b.reserve(&user("vip"), 0.5, at(NOW)).unwrap_err().budget,
            "vip"
        );
        let mut tagged = user("a");
        tagged.tags = vec!["x".into(), "y".into()];
        let r = b.reserve(&tagged, 0.6, at(NOW)).unwrap();
        assert_eq!(r.accounts(), 2);
        let mut only_y = user("a");
        only_y.tags = vec!["y".into()];
        assert!(b.reserve(&only_y, 0.6, at(NOW)).is_err());
    }

    #[test]
    fn reroute_refusal_carries_the_target() {
        let mut rule = budget("cheap", ScopeKind::Model, 0.0);
        rule.action = BudgetAction::Reroute;
        rule.reroute_to = Some("local".into());
        let b = budgets(&[rule]);
        let refusal = b.reserve(&user("a"), 0.01, at(NOW)).unwrap_err();
        assert_eq!(refusal.action, BudgetAction::Reroute);
        assert_eq!(refusal.reroute_to.as_deref(), Some("local"));
        // A zero estimate (an unpriced model) passes even a zero budget.
        assert!(b.reserve(&user("a"), 0.0, at(NOW)).is_ok());
    }

    #[test]
    fn soft_budgets_never_refuse_and_warn_once() {
        let mut soft = budget("soft", ScopeKind::User, 1.0);
        soft.mode = BudgetMode::Soft;
        let b = budgets(&[soft]);
        let mut events = Vec::new();
        for _ in 0..5 {
            let r = b.reserve(&user("a"), 10.0, at(NOW)).unwrap();
            events.extend(r.settle(0.4));
        }
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].budget, "soft");
        assert_eq!(events[0].scope_value, "a");
        assert!((events[0].spent_usd - 1.2).abs() < 1e-9);
        // A new period warns again.
        let r = b.reserve(&user("a"), 0.0, at(NOW + 86_400)).unwrap();
        assert_eq!(r.settle(1.0).len(), 1);
    }

    #[test]
    fn rolling_periods_anchor_at_first_use() {
        let mut rule = budget("hourly", ScopeKind::User, 1.0);
        rule.period = Period::Hour;
        rule.calendar_aligned = false;
        let b = budgets(&[rule]);
        // First use at :59:00 of an hour; a calendar hour would roll a minute later.
        let t0 = 1_795_700_400 + 3540 - (1_795_700_400 % 3600);
        b.reserve(&user("a"), 1.0, at(t0)).unwrap().settle(1.0);
        assert!(b.reserve(&user("a"), 0.1, at(t0 + 120)).is_err());
        assert!(b.reserve(&user("a"), 0.1, at(t0 + 3599)).is_err());
        assert!(b.reserve(&user("a"), 0.1, at(t0 + 3600)).is_ok());
    }

    async fn hammer(limit: f64, calls: Vec<(f64, f64)>) -> (f64, Vec<(f64, f64)>) {
        let source = Arc::new(InMemoryBudgets::new());
        let b = Arc::new(Budgets::new(
            &[budget("global", ScopeKind::Tenant, limit)],
            source.clone(),
        ));
        let tasks: Vec<_> = calls
            .into_iter()
            .map(|(estimate, actual)| {
                let b = Arc::clone(&b);
                tokio::spawn(async move {
                    let r = b.reserve(&user("a"), estimate, SystemTime::now()).ok()?;
                    tokio::task::yield_now().await;
                    let _ = r.settle(actual);
                    Some((estimate, actual))
                })
            })
            .collect();
        let mut admitted = Vec::new();
        for t in tasks {
            if let Some(call) = t.await.unwrap() {
                admitted.push(call);
            }
        }
        let key = AccountKey {
            budget: "global".into(),
            scope_value: "acme".into(),
            period_start: calendar_start(Period::Day, unix_secs(SystemTime::now())),
        };
        (source.spent(&key), admitted)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrency_never_overshoots_with_upper_bound_estimates() {
        let (spent, admitted) = hammer(1.0, vec![(0.01, 0.01); 256]).await;
        assert!(spent <= 1.0 + 1e-9, "spent {spent}");
        assert!(admitted.len() >= 99, "only {} admitted", admitted.len());

        let mut rng = rand::rng();
        let calls: Vec<_> = (0..256)
            .map(|_| {
                let est = rng.random_range(0.005..0.02);
                (est, est * rng.random_range(0.5..=1.0))
            })
            .collect();
        let (spent, _) = hammer(1.0, calls).await;
        assert!(spent <= 1.0 + 1e-9, "spent {spent}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn underestimates_overshoot_by_at_most_their_excess() {
        let mut rng = rand::rng();
        let calls: Vec<_> = (0..256)
            .map(|_| {
                let est = rng.random_range(0.005..0.02);
                (est, est * rng.random_range(1.0..=1.5))
            })
            .collect();
        let (spent, admitted) = hammer(1.0, calls).await;
        let excess: f64 = admitted.iter().map(|(e, a)| a - e).sum();
        assert!(
            spent <= 1.0 + excess + 1e-9,
            "spent {spent}, excess {excess}"
        );
    }

    #[test]
    fn sequential_underestimates_overshoot_by_at_most_one_call() {
        let b = budgets(&[budget("global", ScopeKind::Tenant, 1.0)]);
        let mut spent = 0.0;
        let mut largest: f64 = 0.0;
        for i in 0..500 {
            let est = 0.01 + (i % 7) as f64 * 0.003;
            let actual = est * 5.0;
            if let Ok(r) = b.reserve(&user("a"), est, at(NOW)) {
                r.settle(actual);
                spent += actual;
                largest = largest.max(actual);
            }
        }
        assert!(spent > 1.0, "the test should overshoot: {spent}");
        assert!(
            spent <= 1.0 + largest,
            "spent {spent}, largest call {largest}"
        );
    }
}
