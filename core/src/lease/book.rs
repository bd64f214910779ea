//! The lease book: the grant in force, shared by the calls that spend it (lock-free reads)
//! and the renewer that replaces it. What a call does under it is decided here: within a
//! live grant, reserve in each slice; past its expiry, each hard slice's server-down
//! policy; before the first grant, the settings' policy.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use super::LeaseSettings;
use crate::budget::{
    BudgetRefusal, LeasedHold, RefusalKind, Reserved, SliceAccount, SlidingWindow,
};
use crate::config::BudgetAction;
use crate::error::{Error, ErrorKind};
use crate::sdk_protocol::{
    BudgetSlice, LeaseGrant, LimitSlice, ServerDownPolicy, SliceScope, SliceUse,
};

/// Where the lease stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Standing {
    /// No answer from the server yet.
    Pending,
    /// The server has no lease endpoint (404 to a first request): nothing is leased.
    Unleased,
    /// A grant, void after `expires_at_ms` unless renewed.
    Leased { lease: Arc<str>, expires_at_ms: u64 },
}

/// One budget slice and its account.
#[derive(Debug)]
pub(crate) struct LeasedBudget {
    pub slice: BudgetSlice,
    pub account: Arc<SliceAccount>,
}

/// One rate-limit share and its window.
#[derive(Debug)]
pub(crate) struct LeasedLimit {
    pub slice: LimitSlice,
    pub window: Arc<SlidingWindow>,
}

/// The grant in force, replaced whole at each renewal.
#[derive(Debug)]
pub(crate) struct Grant {
    pub standing: Standing,
    /// The renewal interval the server set (zero before the first grant).
    pub refresh: Duration,
    pub budgets: Vec<LeasedBudget>,
    pub limits: Vec<LeasedLimit>,
}

/// What a leased admission asks of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Go to the config's local model (a `local` policy past expiry).
    Local,
}

/// The grant this instance spends, and the wake-up calls to its renewer.
pub struct LeaseBook {
    grant: ArcSwap<Grant>,
    /// Woken when a slice is nearly spent or refused a call: renew before the interval.
    pub(crate) renew: Notify,
    /// Woken at each grant put in force.
    installed: Notify,
    /// Woken at the first answer (a grant, or no lease endpoint).
    answered: Notify,
    has_answer: AtomicBool,
    first_deadline: Instant,
    settings: LeaseSettings,
}

impl std::fmt::Debug for LeaseBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseBook")
            .field("grant", &self.grant.load())
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn applies(scope: &SliceScope, model: Option<&str>, call_model: &str) -> bool {
    *scope != SliceScope::Model || model == Some(call_model)
}

impl LeaseBook {
    pub fn new(settings: LeaseSettings) -> LeaseBook {
        LeaseBook {
            grant: ArcSwap::from_pointee(Grant {
                standing: Standing::Pending,
                refresh: Duration::ZERO,
                budgets: Vec::new(),
                limits: Vec::new(),
            }),
            renew: Notify::new(),
            installed: Notify::new(),
            answered: Notify::new(),
            has_answer: AtomicBool::new(false),
            first_deadline: Instant::now() + settings.first_grant_wait,
            settings,
        }
    }

    /// Puts `grant` in force. A slice renewed under the same lease and period keeps its
    /// account (what calls in flight reserved stays counted); a new lease or period starts
    /// afresh. Rate-limit windows outlive leases: they count this instance's admissions.
    pub fn install(&self, grant: &LeaseGrant) {
        let old = self.grant.load_full();
        let same_lease =
            matches!(&old.standing, Standing::Leased { lease, .. } if **lease == *grant.lease);
        let accounts: HashMap<(&str, i64), &Arc<SliceAccount>> = old
            .budgets
            .iter()
            .filter(|_| same_lease)
            .map(|b| ((b.slice.id.as_str(), b.slice.period_start), &b.account))
            .collect();
        let windows: HashMap<&str, &Arc<SlidingWindow>> = old
            .limits
            .iter()
            .map(|l| (l.slice.id.as_str(), &l.window))
            .collect();
        let budgets = grant
            .budgets
            .iter()
            .map(|slice| {
                let account = match accounts.get(&(slice.id.as_str(), slice.period_start)) {
                    Some(account) => {
                        account.set_granted(slice.granted_usd);
                        Arc::clone(account)
                    }
                    None => Arc::new(SliceAccount::new(slice.granted_usd)),
                };
                LeasedBudget {
                    slice: slice.clone(),
                    account,
                }
            })
            .collect();
        let limits = grant
            .limits
            .iter()
            .map(|slice| LeasedLimit {
                slice: slice.clone(),
                window: windows
                    .get(slice.id.as_str())
                    .map_or_else(|| Arc::new(SlidingWindow::new()), |w| Arc::clone(w)),
            })
            .collect();
        self.grant.store(Arc::new(Grant {
            standing: Standing::Leased {
                lease: grant.lease.as_str().into(),
                expires_at_ms: grant.expires_at_ms,
            },
            refresh: Duration::from_millis(grant.refresh_in_ms),
            budgets,
            limits,
        }));
        self.installed.notify_waiters();
        self.mark_answered();
    }

    /// Asks the renewer for a renewal now and waits for the next grant, up to `limit`:
    /// for a call its slice refused while the budget still has room on the server.
    pub(crate) async fn renewal(&self, limit: Duration) {
        let installed = self.installed.notified();
        self.renew.notify_one();
        let _ = tokio::time::timeout(limit, installed).await;
    }

    /// The server has no lease endpoint: calls are not leased.
    pub(crate) fn unleased(&self) {
        let old = self.grant.load();
        if old.standing != Standing::Unleased {
            self.grant.store(Arc::new(Grant {
                standing: Standing::Unleased,
                refresh: Duration::ZERO,
                budgets: Vec::new(),
                limits: Vec::new(),
            }));
        }
        self.mark_answered();
    }

    fn mark_answered(&self) {
        if !self.has_answer.swap(true, Ordering::AcqRel) {
            self.answered.notify_waiters();
        }
    }

    pub(crate) fn grant(&self) -> Arc<Grant> {
        self.grant.load_full()
    }

    /// The renewal interval of the grant in force.
    pub(crate) fn refresh(&self) -> Duration {
        self.grant.load().refresh
    }

    /// The lease calls are admitted under now, for their usage events.
    pub(crate) fn lease_id(&self) -> Option<Arc<str>> {
        match &self.grant.load().standing {
            Standing::Leased { lease, .. } => Some(Arc::clone(lease)),
            _ => None,
        }
    }

    /// Committed amounts per budget slice, for a renewal's or a return's `used`.
    pub(crate) fn used(&self) -> Vec<SliceUse> {
        self.grant
            .load()
            .budgets
            .iter()
            .map(|b| SliceUse {
                id: b.slice.id.clone(),
                amount: b.account.committed(),
            })
            .collect()
    }

    /// Before the first answer, a call waits for it up to the settings' bound (counted
    /// from the book's start, so only the first calls wait).
    pub(crate) async fn first_answer(&self) {
        if self.has_answer.load(Ordering::Acquire) {
            return;
        }
        let wait = self
            .first_deadline
            .saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return;
        }
        let answered = self.answered.notified();
        if self.has_answer.load(Ordering::Acquire) {
            return;
        }
        let _ = tokio::time::timeout(wait, answered).await;
    }

    /// Whether a hard slice may refuse calls of `model` (or, before the first grant, the
    /// settings may): only then does admission need their cost estimate.
    pub(crate) fn holds_for(&self, model: &str) -> bool {
        let grant = self.grant.load();
        match grant.standing {
            Standing::Pending => self.settings.before_first_grant != ServerDownPolicy::Allow,
            Standing::Unleased => false,
            Standing::Leased { .. } => grant
                .budgets
                .iter()
                .any(|b| b.slice.hard && applies(&b.slice.scope, b.slice.model.as_deref(), model)),
        }
    }

    /// Whether a leased token limit applies to calls of `model`.
    pub(crate) fn counts_tokens(&self, model: &str) -> bool {
        self.grant.load().limits.iter().any(|l| {
            l.slice.tpm.is_some() && applies(&l.slice.scope, l.slice.model.as_deref(), model)
        })
    }

    /// Admits one call of `model` estimated at `tokens` tokens to every rate-limit share
    /// that applies to it: within each share's window while the grant lives, by each
    /// share's policy past its expiry.
    pub(crate) fn admit_limits(&self, model: &str, tokens: u64) -> Result<Verdict, Error> {
        let grant = self.grant.load();
        let expires_at_ms = match &grant.standing {
            Standing::Leased { expires_at_ms, .. } => *expires_at_ms,
            Standing::Unleased => return Ok(Verdict::Pass),
            Standing::Pending => return self.before_first_grant(),
        };
        let expired = now_ms() >= expires_at_ms;
        let now = Instant::now();
        let mut verdict = Verdict::Pass;
        for limit in &grant.limits {
            let s = &limit.slice;
            if !applies(&s.scope, s.model.as_deref(), model) {
                continue;
            }
            if expired {
                match s.on_server_down {
                    ServerDownPolicy::Allow => {}
                    ServerDownPolicy::Local => verdict = Verdict::Local,
                    ServerDownPolicy::Deny => return Err(unavailable(&s.name)),
                }
                continue;
            }
            if let Err(wait) = limit.window.try_admit(now, s.rpm, s.tpm, tokens) {
                // Windows already charged for this call keep the charge: the call counted
                // against them as an attempt, which errs on the safe side.
                tracing::info!(limit = %s.name, retry_after_ms = wait.as_millis() as u64, "leased rate limit refused a call");
                self.renew.notify_one();
                return Err(Error::new(
                    ErrorKind::RateLimited {
                        retry_after: Some(wait),
                    },
                    format!("rate limit '{}': this instance's share is used up", s.name),
                ));
            }
        }
        Ok(verdict)
    }

    /// The settings' policy for calls once the first grant was waited for in vain.
    fn before_first_grant(&self) -> Result<Verdict, Error> {
        match self.settings.before_first_grant {
            ServerDownPolicy::Allow => Ok(Verdict::Pass),
            ServerDownPolicy::Local => Ok(Verdict::Local),
            ServerDownPolicy::Deny => Err(unavailable("lease")),
        }
    }

    /// Reserves `estimate` in every budget slice that applies to calls of `model`,
    /// pushing each hold onto `held`; on a refusal the caller drops what was held.
    /// `local` is the config's local model, for the `local` policy.
    pub(crate) fn reserve(
        &self,
        model: &str,
        estimate: f64,
        local: Option<&str>,
        held: &mut Vec<LeasedHold>,
    ) -> Result<(), BudgetRefusal> {
        let grant = self.grant.load();
        let expires_at_ms = match &grant.standing {
            Standing::Leased { expires_at_ms, .. } => *expires_at_ms,
            Standing::Unleased => return Ok(()),
            Standing::Pending => {
                return match self.before_first_grant() {
                    Ok(Verdict::Pass) => Ok(()),
                    // A call that costs nothing (the local model) is never refused.
                    _ if estimate <= 0.0 => Ok(()),
                    Ok(Verdict::Local) => Err(refusal_to_local("lease", 0.0, 0.0, local)),
                    Err(_) => Err(BudgetRefusal {
                        kind: RefusalKind::Unavailable,
                        ..refusal_to_local("lease", 0.0, 0.0, None)
                    }),
                };
            }
        };
        let expired = now_ms() >= expires_at_ms;
        for budget in &grant.budgets {
            let s = &budget.slice;
            if !applies(&s.scope, s.model.as_deref(), model) {
                continue;
            }
            // Soft: never refuses, reserves nothing, settles what was spent. Hard with a
            // $0 estimate: nothing to hold, even past the grant (a reroute must pass).
            let limited = s.hard && estimate > 0.0;
            let amount = if limited { estimate } else { 0.0 };
            let checked = limited && !(expired && s.on_server_down == ServerDownPolicy::Allow);
            if limited && expired {
                match s.on_server_down {
                    ServerDownPolicy::Allow => {}
                    ServerDownPolicy::Deny => {
                        return Err(BudgetRefusal {
                            kind: RefusalKind::Unavailable,
                            ..refusal_to_local(&s.name, s.limit_usd, s.spent_usd, None)
                        });
                    }
                    ServerDownPolicy::Local => {
                        return Err(refusal_to_local(&s.name, s.limit_usd, s.spent_usd, local));
                    }
                }
            }
            match budget.account.try_reserve(amount, checked) {
                Reserved::Held { renew } => {
                    if renew {
                        self.renew.notify_one();
                    }
                    held.push(LeasedHold {
                        account: Arc::clone(&budget.account),
                        reserved: amount,
                    });
                }
                Reserved::Refused { renew } => {
                    if renew {
                        self.renew.notify_one();
                    }
                    tracing::debug!(budget = %s.name, granted_usd = budget.account.granted(), estimate_usd = estimate, "leased budget refused a reservation");
                    return Err(BudgetRefusal {
                        budget: s.name.clone(),
                        action: if s.reroute_to.is_some() {
                            BudgetAction::Reroute
                        } else {
                            BudgetAction::Reject
                        },
                        reroute_to: s.reroute_to.clone(),
                        limit_usd: s.limit_usd,
                        spent_usd: s.spent_usd,
                        kind: RefusalKind::Exceeded,
                        // Worth waiting for a renewal unless the last one granted
                        // nothing more (the server's `spent_usd` leaves out what other
                        // instances hold, so it alone cannot tell).
                        leased: s.spent_usd + estimate <= s.limit_usd && !budget.account.stalled(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn unavailable(name: &str) -> Error {
    tracing::warn!(
        budget = name,
        "lease expired with the server away: refusing"
    );
    Error::new(
        ErrorKind::BudgetUnavailable {
            budget: name.to_owned(),
        },
        format!(
            "budget '{name}' cannot be checked: its lease expired and the management server cannot be reached"
        ),
    )
}

/// A refusal that reroutes to the local model, or, without one, a denial.
fn refusal_to_local(name: &str, limit: f64, spent: f64, local: Option<&str>) -> BudgetRefusal {
    BudgetRefusal {
        budget: name.to_owned(),
        action: if local.is_some() {
            BudgetAction::Reroute
        } else {
            BudgetAction::Reject
        },
        reroute_to: local.map(str::to_owned),
        limit_usd: limit,
        spent_usd: spent,
        kind: if local.is_some() {
            RefusalKind::Exceeded
        } else {
            RefusalKind::Unavailable
        },
        leased: false,
    }
}

/// How long a renewal waits at least after another, however often slices ask.
pub(crate) const MIN_RENEW_SPACING: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(
        id: &str,
        model: Option<&str>,
        granted: f64,
        policy: ServerDownPolicy,
    ) -> BudgetSlice {
        BudgetSlice {
            id: id.into(),
            name: id.into(),
            scope: if model.is_some() {
                SliceScope::Model
            } else {
                SliceScope::App
            },
            model: model.map(str::to_owned),
            hard: true,
            reroute_to: None,
            on_server_down: policy,
            granted_usd: granted,
            limit_usd: 10.0,
            spent_usd: 0.0,
            period_start: 0,
            period_end: i64::MAX,
        }
    }

    fn grant(lease: &str, expires_at_ms: u64, budgets: Vec<BudgetSlice>) -> LeaseGrant {
        LeaseGrant {
            lease: lease.into(),
            expires_at_ms,
            refresh_in_ms: 1_000,
            budgets,
            limits: Vec::new(),
        }
    }

    fn live() -> u64 {
        now_ms() + 60_000
    }

    fn reserve(
        book: &LeaseBook,
        model: &str,
        amount: f64,
    ) -> Result<Vec<LeasedHold>, BudgetRefusal> {
        let mut held = Vec::new();
        book.reserve(model, amount, Some("tiny"), &mut held)
            .map(|()| held)
    }

    #[test]
    fn a_renewal_keeps_what_calls_in_flight_hold_and_a_new_lease_starts_afresh() {
        let book = LeaseBook::new(LeaseSettings::default());
        book.install(&grant(
            "l1",
            live(),
            vec![budget("b", None, 1.0, ServerDownPolicy::Deny)],
        ));
        let held = reserve(&book, "chat", 0.8).unwrap();
        assert_eq!(held.len(), 1);
        assert!(reserve(&book, "chat", 0.3).is_err());
        // Renewed, grown: the 0.8 in flight still counts.
        book.install(&grant(
            "l1",
            live(),
            vec![budget("b", None, 1.5, ServerDownPolicy::Deny)],
        ));
        assert_eq!(book.used()[0].amount, 0.8);
        assert!(reserve(&book, "chat", 0.8).is_err());
        let more = reserve(&book, "chat", 0.7).unwrap();
        // A new lease: a new account; the old reservations settle into the old one.
        book.install(&grant(
            "l2",
            live(),
            vec![budget("b", None, 0.5, ServerDownPolicy::Deny)],
        ));
        assert_eq!(book.used()[0].amount, 0.0);
        assert_eq!(book.lease_id().as_deref(), Some("l2"));
        drop((held, more));
        assert_eq!(book.used()[0].amount, 0.0);
    }

    #[test]
    fn a_model_slice_counts_only_calls_of_its_model() {
        let book = LeaseBook::new(LeaseSettings::default());
        book.install(&grant(
            "l",
            live(),
            vec![budget("m", Some("chat"), 0.1, ServerDownPolicy::Deny)],
        ));
        assert!(reserve(&book, "chat", 0.2).is_err());
        assert!(reserve(&book, "embed", 0.2).unwrap().is_empty());
    }

    #[test]
    fn past_expiry_each_policy_decides() {
        let past = now_ms() - 1;
        let book = LeaseBook::new(LeaseSettings::default());
        book.install(&grant(
            "l",
            past,
            vec![budget("deny", None, 1.0, ServerDownPolicy::Deny)],
        ));
        let refusal = reserve(&book, "chat", 0.1).unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Unavailable);
        assert_eq!(refusal.into_error().code(), "budget_unavailable");
        // A call that costs nothing passes: where `local` sends calls.
        assert!(reserve(&book, "chat", 0.0).is_ok());

        book.install(&grant(
            "l",
            past,
            vec![budget("local", None, 1.0, ServerDownPolicy::Local)],
        ));
        let refusal = reserve(&book, "chat", 0.1).unwrap_err();
        assert_eq!(
            (refusal.action, refusal.reroute_to.as_deref()),
            (BudgetAction::Reroute, Some("tiny"))
        );
        let mut held = Vec::new();
        let without_local = book.reserve("chat", 0.1, None, &mut held).unwrap_err();
        assert_eq!(without_local.kind, RefusalKind::Unavailable);

        book.install(&grant(
            "l",
            past,
            vec![budget("allow", None, 0.1, ServerDownPolicy::Allow)],
        ));
        // Allowed past the grant, and recorded.
        let held = reserve(&book, "chat", 5.0).unwrap();
        assert_eq!(book.used()[0].amount, 5.0);
        drop(held);
    }

    #[test]
    fn before_the_first_grant_the_settings_decide() {
        let deny = LeaseBook::new(LeaseSettings {
            first_grant_wait: Duration::ZERO,
            before_first_grant: ServerDownPolicy::Deny,
        });
        assert_eq!(
            reserve(&deny, "chat", 0.1).unwrap_err().kind,
            RefusalKind::Unavailable
        );
        assert_eq!(
            deny.admit_limits("chat", 1).unwrap_err().code(),
            "budget_unavailable"
        );
        let allow = LeaseBook::new(LeaseSettings::default());
        assert!(reserve(&allow, "chat", 0.1).unwrap().is_empty());
        assert_eq!(allow.admit_limits("chat", 1).unwrap(), Verdict::Pass);
        // A server without leases: nothing is leased, whatever the settings.
        deny.unleased();
        assert!(reserve(&deny, "chat", 0.1).is_ok());
    }
}
