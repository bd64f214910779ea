//! Password sign-in spacing: a password can be guessed, so once an account (tenant and
//! username, whether it exists or not) has had a few failed sign-ins, its sign-in attempts
//! from each source address are spaced out. An attempt waits for its address's next slot
//! (a bounded delay) and is then verified, so the right password is still accepted; only
//! an address that queues more than the bound is answered 429 without verification. An
//! attacker's own queue never delays a sign-in from another address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::rate_limit::RateLimiter;

/// Failed sign-ins an account may have in [`WINDOW`] before its attempts are spaced.
pub const FREE_FAILURES: u32 = 5;
/// How long an account's failed sign-ins are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Between two verified attempts on a spaced account from one address.
pub const SPACING: Duration = Duration::from_secs(2);
/// The longest an attempt waits for its slot; longer, it is refused unverified.
pub const MAX_WAIT: Duration = Duration::from_secs(4);

pub struct LoginThrottle {
    failures: RateLimiter,
    free: u32,
    spacing: Duration,
    max_wait: Duration,
    queues: Mutex<Queues>,
}

#[derive(Default)]
struct Queues {
    /// Per account and address: when the next attempt may be verified.
    slots: HashMap<String, Instant>,
    /// Per account: attempts admitted free and not finished. Counted against the free
    /// failures, so concurrent guesses cannot all pass while none has failed yet.
    in_flight: HashMap<String, u32>,
}

/// An attempt let through: wait `wait`, then verify. Dropped when the attempt is over
/// (after [`LoginThrottle::failed`] for a failure), it frees its place among the free ones.
pub struct Admission<'a> {
    pub wait: Duration,
    free_of: Option<(&'a LoginThrottle, String)>,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let Some((throttle, account)) = self.free_of.take() else {
            return;
        };
        if let Ok(mut queues) = throttle.queues.lock()
            && let Some(n) = queues.in_flight.get_mut(&account)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                queues.in_flight.remove(&account);
            }
        }
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(FREE_FAILURES, WINDOW, SPACING, MAX_WAIT)
    }
}

impl LoginThrottle {
    pub fn new(free: u32, window: Duration, spacing: Duration, max_wait: Duration) -> Self {
        LoginThrottle {
            failures: RateLimiter::new(free, window),
            free,
            spacing,
            max_wait,
            queues: Mutex::new(Queues::default()),
        }
    }

    /// Before verifying a password for `account` from `source`: how long to wait first,
    /// or `None` when this address already has more than the bound queued (refuse it,
    /// unverified: that answer tells nothing about the password). Keep the admission
    /// until the attempt is over.
    pub fn admit(&self, account: &str, source: &str) -> Option<Admission<'_>> {
        let Ok(mut queues) = self.queues.lock() else {
            return Some(Admission {
                wait: self.spacing,
                free_of: None,
            });
        };
        let in_flight = queues.in_flight.get(account).copied().unwrap_or(0);
        if self.failures.failures(account) + in_flight < self.free {
            queues.in_flight.insert(account.to_owned(), in_flight + 1);
            return Some(Admission {
                wait: Duration::ZERO,
                free_of: Some((self, account.to_owned())),
            });
        }
        let now = Instant::now();
        if queues.slots.len() > 100_000 {
            queues.slots.retain(|_, next| *next > now);
        }
        let key = format!("{account}@{source}");
        let slot = queues
            .slots
            .get(&key)
            .copied()
            .filter(|n| *n > now)
            .unwrap_or(now);
        let wait = slot - now;
        if wait > self.max_wait {
            return None;
        }
        queues.slots.insert(key, slot + self.spacing);
        Some(Admission {
            wait,
            free_of: None,
        })
    }

    /// Counts a failed sign-in of `account`.
    pub fn failed(&self, account: &str) {
        self.failures.fail(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(
            2,
            Duration::from_secs(60),
            Duration::from_secs(2),
            Duration::from_secs(4),
        )
    }

    #[test]
    fn free_failures_then_spacing_per_address() {
        let t = throttle();
        t.failed("acme/ann");
        assert_eq!(wait(&t, "acme/ann", "a"), Some(Duration::ZERO));
        t.failed("acme/ann");
        // Spaced: the first attempt of an address goes at once, the next ones queue up
        // to the bound, and beyond it are refused.
        assert_eq!(wait(&t, "acme/ann", "a"), Some(Duration::ZERO));
        let w = wait(&t, "acme/ann", "a").unwrap();
        assert!(w > Duration::from_millis(1900) && w <= Duration::from_secs(2));
        let w = wait(&t, "acme/ann", "a").unwrap();
        assert!(w > Duration::from_millis(3900) && w <= Duration::from_secs(4));
        assert_eq!(wait(&t, "acme/ann", "a"), None);
        // Another address is not behind the first one's queue; another account is free.
        assert_eq!(wait(&t, "acme/ann", "b"), Some(Duration::ZERO));
        assert_eq!(wait(&t, "acme/bob", "a"), Some(Duration::ZERO));
    }

    fn wait(t: &LoginThrottle, account: &str, source: &str) -> Option<Duration> {
        t.admit(account, source).map(|a| a.wait)
    }

    #[test]
    fn concurrent_guesses_share_the_free_failures() {
        let t = throttle();
        // Two attempts in flight use up the two free ones before either has failed: a
        // third, concurrent, is spaced.
        let first = t.admit("acme/ann", "a").unwrap();
        let second = t.admit("acme/ann", "b").unwrap();
        assert!(first.wait.is_zero() && second.wait.is_zero());
        let third = t.admit("acme/ann", "c").unwrap();
        assert!(third.free_of.is_none(), "the third is spaced, not free");
        // A free attempt that succeeds gives its place back.
        drop(first);
        assert!(t.admit("acme/ann", "d").unwrap().free_of.is_some());
    }
}
