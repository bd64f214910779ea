//! Where budget state lives: the [`BudgetSource`] trait and its in-memory implementation.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};

/// One budget's account for one scope value in one period.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountKey {
    pub budget: String,
    pub scope_value: String,
    /// Unix seconds.
    pub period_start: i64,
}

/// Where budget state lives. In-memory now; the server's leases plug in later (the
/// server grants a slice of a budget, spent locally).
///
/// Spend belongs to the period a call was reserved in. A source keeps only the current
/// period of each account: when a newer `period_start` shows up the old one is dropped,
/// and operations naming an ended period are no-ops (reserving in one always succeeds,
/// since nothing it could overspend is tracked any more).
pub trait BudgetSource: Send + Sync {
    /// Atomically reserve `amount` USD in `account` if spent + reserved + amount <= limit;
    /// false otherwise.
    fn try_reserve(&self, account: &AccountKey, limit_usd: f64, amount: f64) -> bool;
    /// Replace a reservation by the actual cost (actual may exceed the reservation: it is
    /// recorded anyway). Returns the settled spend after this call, so the caller can tell
    /// whether this very call crossed a limit.
    fn settle(&self, account: &AccountKey, reserved: f64, actual: f64) -> f64;
    fn release(&self, account: &AccountKey, reserved: f64);
    /// Settled spend in the current period.
    fn spent(&self, account: &AccountKey) -> f64;
}

#[derive(Debug, Clone, Copy, Default)]
struct Account {
    period_start: i64,
    spent: f64,
    reserved: f64,
}

/// Which period a key names relative to what is stored.
enum Slot<'a> {
    Current(&'a mut Account),
    Ended,
}

const SHARDS: usize = 16;

type Shard = HashMap<String, HashMap<String, Account>>;

/// Budget state in this process, striped over 16 locks so unrelated accounts do not
/// contend; each critical section is a hash lookup and a few float operations.
#[derive(Debug)]
pub struct InMemoryBudgets {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
}

impl Default for InMemoryBudgets {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryBudgets {
    pub fn new() -> Self {
        InMemoryBudgets {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &AccountKey) -> MutexGuard<'_, Shard> {
        let i = self.hasher.hash_one((&key.budget, &key.scope_value)) as usize % SHARDS;
        // A panic while holding the lock cannot leave an account half-updated (plain
        // float stores), so a poisoned lock is safe to keep using.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the key's account, creating it or rolling it to a newer period.
    fn with<R>(&self, key: &AccountKey, f: impl FnOnce(Slot<'_>) -> R) -> R {
        let mut shard = self.shard(key);
        let accounts = match shard.get_mut(key.budget.as_str()) {
            Some(a) => a,
            None => shard.entry(key.budget.clone()).or_default(),
        };
        let account = match accounts.get_mut(key.scope_value.as_str()) {
            Some(a) => a,
            None => accounts.entry(key.scope_value.clone()).or_insert(Account {
                period_start: key.period_start,
                ..Account::default()
            }),
        };
        if account.period_start < key.period_start {
            if account.reserved > 0.0 {
                tracing::debug!(
                    budget = %key.budget,
                    scope_value = %key.scope_value,
                    reserved_usd = account.reserved,
                    "budget period ended with calls in flight; their spend is not carried over"
                );
            }
            *account = Account {
                period_start: key.period_start,
                ..Account::default()
            };
        }
        if account.period_start > key.period_start {
            f(Slot::Ended)
        } else {
            f(Slot::Current(account))
        }
    }
}

/// Negative, NaN or infinite amounts are bugs upstream; they count as nothing rather
/// than corrupting an account.
pub(crate) fn sane(amount: f64) -> f64 {
    if amount.is_finite() && amount > 0.0 {
        amount
    } else {
        0.0
    }
}

impl BudgetSource for InMemoryBudgets {
    fn try_reserve(&self, key: &AccountKey, limit_usd: f64, amount: f64) -> bool {
        let amount = sane(amount);
        self.with(key, |slot| match slot {
            Slot::Ended => true,
            Slot::Current(a) => {
                if a.spent + a.reserved + amount <= limit_usd {
                    a.reserved += amount;
                    true
                } else {
                    false
                }
            }
        })
    }

    fn settle(&self, key: &AccountKey, reserved: f64, actual: f64) -> f64 {
        let (reserved, actual) = (sane(reserved), sane(actual));
        self.with(key, |slot| match slot {
            Slot::Ended => 0.0,
            Slot::Current(a) => {
                a.reserved = (a.reserved - reserved).max(0.0);
                a.spent += actual;
                a.spent
            }
        })
    }

    fn release(&self, key: &AccountKey, reserved: f64) {
        let reserved = sane(reserved);
        self.with(key, |slot| {
            if let Slot::Current(a) = slot {
                a.reserved = (a.reserved - reserved).max(0.0);
            }
        })
    }

    fn spent(&self, key: &AccountKey) -> f64 {
        self.with(key, |slot| match slot {
            Slot::Ended => 0.0,
            Slot::Current(a) => a.spent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(period_start: i64) -> AccountKey {
        AccountKey {
            budget: "b".into(),
            scope_value: "u".into(),
            period_start,
        }
    }

    #[test]
    fn reserve_settle_release() {
        let s = InMemoryBudgets::new();
        let k = key(0);
        assert!(s.try_reserve(&k, 1.0, 0.6));
        assert!(!s.try_reserve(&k, 1.0, 0.6));
        assert_eq!(s.settle(&k, 0.6, 0.5), 0.5);
        assert!(s.try_reserve(&k, 1.0, 0.5));
        s.release(&k, 0.5);
        assert!(s.try_reserve(&k, 1.0, 0.5));
        assert_eq!(s.spent(&k), 0.5);
    }

    #[test]
    fn new_period_resets_and_old_period_is_a_no_op() {
        let s = InMemoryBudgets::new();
        assert!(s.try_reserve(&key(0), 1.0, 1.0));
        assert_eq!(s.settle(&key(0), 1.0, 1.0), 1.0);
        assert!(!s.try_reserve(&key(0), 1.0, 0.1));
        assert!(s.try_reserve(&key(60), 1.0, 0.5));
        assert_eq!(s.spent(&key(60)), 0.0);
        // A late settle or release for the ended period changes nothing now.
        s.settle(&key(0), 0.0, 5.0);
        s.release(&key(0), 0.5);
        assert!(!s.try_reserve(&key(60), 1.0, 0.6));
        assert!(s.try_reserve(&key(60), 1.0, 0.5));
    }

    #[test]
    fn garbage_amounts_count_as_nothing() {
        let s = InMemoryBudgets::new();
        let k = key(0);
        assert!(s.try_reserve(&k, 1.0, f64::NAN));
        assert!(s.try_reserve(&k, 1.0, -5.0));
        assert_eq!(s.settle(&k, f64::INFINITY, f64::NAN), 0.0);
        assert!(s.try_reserve(&k, 1.0, 1.0));
    }
}
