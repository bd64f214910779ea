//! An exact sliding window: this instance's share of a server-side rate limit.
//!
//! Unlike GCRA (which smooths a local limit), a share must hold in every 60-second window
//! so that the shares of all instances add up to at most the limit: the window keeps the
//! time and tokens of each admission in the last minute and admits a call only when the
//! count (and the tokens) with it stay within the share. The share is read at each
//! admission, so a share that shrinks at renewal applies at once.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window every share is counted over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The admissions of the last [`WINDOW`], oldest first.
#[derive(Debug, Default)]
pub struct SlidingWindow {
    log: Mutex<Log>,
}

#[derive(Debug, Default)]
struct Log {
    admitted: VecDeque<(Instant, u64)>,
    tokens: u64,
    /// Admissions since the renewer last asked, for the next `want`.
    requests_since: u64,
    tokens_since: u64,
}

impl Log {
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, tokens)) = self.admitted.front() {
            if now.saturating_duration_since(at) < WINDOW {
                break;
            }
            self.admitted.pop_front();
            self.tokens -= tokens;
        }
    }
}

impl SlidingWindow {
    pub fn new() -> SlidingWindow {
        SlidingWindow::default()
    }

    /// Admits one request of `tokens` tokens at `now` if, with it, the last minute holds
    /// at most `rpm` requests and `tpm` tokens (a `None` limits nothing); else how long
    /// until it could.
    pub fn try_admit(
        &self,
        now: Instant,
        rpm: Option<u64>,
        tpm: Option<u64>,
        tokens: u64,
    ) -> Result<(), Duration> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.expire(now);
        let until = |log: &Log, i: usize| {
            log.admitted
                .get(i)
                .map_or(WINDOW, |&(at, _)| WINDOW.saturating_sub(now - at))
        };
        if let Some(rpm) = rpm {
            let count = log.admitted.len() as u64;
            if count >= rpm {
                // The call fits once all but rpm - 1 of the logged admissions have left.
                let leave = usize::try_from(count + 1 - rpm.max(1)).unwrap_or(usize::MAX);
                return Err(until(&log, leave.saturating_sub(1)));
            }
        }
        if let Some(tpm) = tpm
            && log.tokens.saturating_add(tokens) > tpm
        {
            // Tokens leave oldest first: wait for enough of them.
            let mut freed = 0u64;
            let needed = log.tokens.saturating_add(tokens) - tpm;
            for (i, &(_, t)) in log.admitted.iter().enumerate() {
                freed += t;
                if freed >= needed {
                    return Err(until(&log, i));
                }
            }
            // More than the whole share: it never fits; say a window.
            return Err(WINDOW);
        }
        log.admitted.push_back((now, tokens));
        log.tokens += tokens;
        log.requests_since += 1;
        log.tokens_since += tokens;
        Ok(())
    }

    /// Requests and tokens admitted since the last call of this, for the renewer.
    pub fn take_counts(&self) -> (u64, u64) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let counts = (log.requests_since, log.tokens_since);
        log.requests_since = 0;
        log.tokens_since = 0;
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_rpm_in_any_minute() {
        let w = SlidingWindow::new();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        for i in 0..3 {
            assert!(w.try_admit(t0 + s(i * 10), Some(3), None, 0).is_ok());
        }
        // Full until the first admission is a minute old.
        assert_eq!(w.try_admit(t0 + s(30), Some(3), None, 0), Err(s(30)));
        assert_eq!(w.try_admit(t0 + s(59), Some(3), None, 0), Err(s(1)));
        assert!(w.try_admit(t0 + s(60), Some(3), None, 0).is_ok());
        assert_eq!(w.try_admit(t0 + s(60), Some(3), None, 0), Err(s(10)));
    }

    #[test]
    fn a_shrunk_share_applies_at_once() {
        let w = SlidingWindow::new();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        for i in 0..4 {
            assert!(w.try_admit(t0 + s(i), Some(10), None, 0).is_ok());
        }
        // The share drops to 2: nothing until only one admission is left in the window.
        assert_eq!(w.try_admit(t0 + s(5), Some(2), None, 0), Err(s(57)));
        assert!(w.try_admit(t0 + s(62), Some(2), None, 0).is_ok());
        assert!(w.try_admit(t0 + s(62), Some(0), None, 0).is_err());
    }

    #[test]
    fn tokens_are_counted_by_estimate() {
        let w = SlidingWindow::new();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert!(w.try_admit(t0, None, Some(1000), 600).is_ok());
        assert!(w.try_admit(t0 + s(1), None, Some(1000), 300).is_ok());
        assert_eq!(w.try_admit(t0 + s(2), None, Some(1000), 200), Err(s(58)));
        assert_eq!(w.try_admit(t0 + s(2), None, Some(1000), 2000), Err(WINDOW));
        assert!(w.try_admit(t0 + s(60), None, Some(1000), 700).is_ok());
        assert_eq!(w.take_counts(), (3, 1600));
        assert_eq!(w.take_counts(), (0, 0));
    }
}
