//! Failed-authentication counting: a fixed window of failures per key (source address,
//! presented key prefix, or tenant/username). It never refuses anything by itself: a
//! credential is always checked first and a valid one is served whatever the counts
//! (`docs/identity.md`, "Failed authentication"); only a failure under a key that is over
//! its limit is answered 429 instead of 401, so nobody can lock anybody out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many keys, expired windows are swept before a new one is added.
const SWEEP_ABOVE: usize = 100_000;

pub struct RateLimiter {
    window: Duration,
    max_failures: u32,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

/// What counting one failure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// This is the first failure beyond the limit (once per window: the security
    /// event's moment).
    pub tripped: bool,
    /// This failure is beyond the limit: answer 429.
    pub over: bool,
}

impl RateLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        RateLimiter {
            window,
            max_failures,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Failures counted under `key` in its current window.
    pub fn failures(&self, key: &str) -> u32 {
        let Ok(entries) = self.entries.lock() else {
            return 0;
        };
        entries
            .get(key)
            .filter(|(start, _)| start.elapsed() < self.window)
            .map_or(0, |(_, n)| *n)
    }

    /// True when `key` has used up its failures in the current window: its next one is
    /// beyond the limit.
    pub fn is_over(&self, key: &str) -> bool {
        self.failures(key) >= self.max_failures
    }

    /// Counts a failure under `key`.
    pub fn fail(&self, key: &str) -> Counted {
        let Ok(mut entries) = self.entries.lock() else {
            return Counted {
                tripped: false,
                over: false,
            };
        };
        if entries.len() > SWEEP_ABOVE {
            let window = self.window;
            entries.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Counted {
            tripped: entry.1 == self.max_failures.saturating_add(1),
            over: entry.1 > self.max_failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_up_to_the_limit_per_key() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        assert!(!rl.fail("a").over);
        assert!(!rl.fail("a").over);
        assert!(!rl.fail("a").over);
        assert!(rl.is_over("a"));
        assert_eq!(
            rl.fail("a"),
            Counted {
                tripped: true,
                over: true
            }
        );
        assert_eq!(
            rl.fail("a"),
            Counted {
                tripped: false,
                over: true
            }
        );
        assert!(!rl.is_over("b"));
        assert_eq!(rl.failures("a"), 5);
    }

    #[test]
    fn a_window_ends() {
        let rl = RateLimiter::new(1, Duration::from_millis(20));
        rl.fail("a");
        assert!(rl.fail("a").over);
        std::thread::sleep(Duration::from_millis(30));
        assert!(!rl.is_over("a"));
        assert!(!rl.fail("a").over);
        assert!(rl.fail("a").tripped);
    }
}
