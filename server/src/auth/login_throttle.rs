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
    spacing: Duration,
    max_wait: Duration,
    /// Per account and address: when the next attempt may be verified.
    slots: Mutex<HashMap<String, Instant>>,
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
            spacing,
            max_wait,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Before verifying a password for `account` from `source`: how long to wait first,
    /// or `None` when this address already has more than the bound queued (refuse it,
    /// unverified: that answer tells nothing about the password).
    pub fn admit(&self, account: &str, source: &str) -> Option<Duration> {
        if !self.failures.is_over(account) {
            return Some(Duration::ZERO);
        }
        let Ok(mut slots) = self.slots.lock() else {
            return Some(self.spacing);
        };
        let now = Instant::now();
        if slots.len() > 100_000 {
            slots.retain(|_, next| *next > now);
        }
        let key = format!("{account}@{source}");
        let slot = slots.get(&key).copied().filter(|n| *n > now).unwrap_or(now);
        let wait = slot - now;
        if wait > self.max_wait {
            return None;
        }
        slots.insert(key, slot + self.spacing);
        Some(wait)
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
        assert_eq!(t.admit("acme/ann", "a"), Some(Duration::ZERO));
        t.failed("acme/ann");
        // Spaced: the first attempt of an address goes at once, the next ones queue up
        // to the bound, and beyond it are refused.
        assert_eq!(t.admit("acme/ann", "a"), Some(Duration::ZERO));
        let w = t.admit("acme/ann", "a").unwrap();
        assert!(w > Duration::from_millis(1900) && w <= Duration::from_secs(2));
        let w = t.admit("acme/ann", "a").unwrap();
        assert!(w > Duration::from_millis(3900) && w <= Duration::from_secs(4));
        assert_eq!(t.admit("acme/ann", "a"), None);
        // Another address is not behind the first one's queue; another account is free.
        assert_eq!(t.admit("acme/ann", "b"), Some(Duration::ZERO));
        assert_eq!(t.admit("acme/bob", "a"), Some(Duration::ZERO));
    }
}
