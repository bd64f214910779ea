//! Failed-authentication limiting: a fixed window of failures per key (source address,
//! token prefix, or tenant/username). Once a key trips, every attempt under it is refused
//! until the window ends, right credentials included, so guessing gains nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    window: Duration,
    max_failures: u32,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        RateLimiter {
            window,
            max_failures,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// True when `key` has used up its failures in the current window.
    pub fn is_blocked(&self, key: &str) -> bool {
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        entries
            .get(key)
            .is_some_and(|(start, n)| start.elapsed() < self.window && *n >= self.max_failures)
    }

    /// Counts a failure; true when this one trips the limit.
    pub fn fail(&self, key: &str) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        if entries.len() > 100_000 {
            let window = self.window;
            entries.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        entry.1 == self.max_failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        assert!(!rl.fail("a"));
        assert!(!rl.fail("a"));
        assert!(!rl.is_blocked("a"));
        assert!(rl.fail("a"));
        assert!(rl.is_blocked("a"));
        assert!(!rl.is_blocked("b"));
    }
}
