//! The generic cell rate algorithm: one atomic "theoretical arrival time" per bucket.
//!
//! Each unit (a request, a token) pushes the arrival time forward by the emission
//! interval; a take is admitted while that time stays within the burst allowance of
//! now. Smooth by construction, lock-free (a CAS loop), and the state is a single u64.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const MINUTE_NS: u128 = 60_000_000_000;

#[derive(Debug)]
pub(crate) struct Gcra {
    /// Theoretical arrival time, in nanoseconds since the owner's base instant.
    tat: AtomicU64,
    /// Nanoseconds one unit occupies at the steady rate.
    interval_ns: u64,
    /// How far ahead of now the arrival time may run: `burst` units' worth.
    allowance_ns: u64,
}

impl Gcra {
    /// `per_minute` units per minute with `burst` units admissible at once (both >= 1).
    pub(crate) fn new(per_minute: u64, burst: u64) -> Self {
        let interval = (MINUTE_NS / u128::from(per_minute.max(1))).max(1);
        let interval_ns = u64::try_from(interval).unwrap_or(u64::MAX);
        Gcra {
            tat: AtomicU64::new(0),
            interval_ns,
            allowance_ns: interval_ns.saturating_mul(burst.max(1)),
        }
    }

    /// Takes `cost` units at `now_ns`, or says how long until they would be admitted.
    /// A take larger than the whole burst is admitted only when the bucket is full, so
    /// an oversized call waits for an idle bucket instead of never passing.
    pub(crate) fn try_take(&self, now_ns: u64, cost: u64) -> Result<(), Duration> {
        if cost == 0 {
            return Ok(());
        }
        let inc = cost.saturating_mul(self.interval_ns);
        let allowance = self.allowance_ns.max(inc);
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let new_tat = tat.max(now_ns).saturating_add(inc);
            let ahead = new_tat - now_ns;
            if ahead > allowance {
                return Err(Duration::from_nanos(ahead - allowance));
            }
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }

    /// How long until a take of `cost` units would be admitted (zero: now), without taking.
    pub(crate) fn wait(&self, now_ns: u64, cost: u64) -> Duration {
        if cost == 0 {
            return Duration::ZERO;
        }
        let inc = cost.saturating_mul(self.interval_ns);
        let allowance = self.allowance_ns.max(inc);
        let ahead = self
            .tat
            .load(Ordering::Acquire)
            .max(now_ns)
            .saturating_add(inc)
            - now_ns;
        Duration::from_nanos(ahead.saturating_sub(allowance))
    }

    /// Nanoseconds one unit occupies, and how far ahead of now the arrival time may run:
    /// what the shared tier's script needs to run the same bucket in Redis.
    pub(crate) fn params(&self) -> (u64, u64) {
        (self.interval_ns, self.allowance_ns)
    }

    /// Gives back a take, when another limit of the same call refused it. Taking from a
    /// bucket that had been idle and giving back leaves it as full as it was.
    pub(crate) fn undo(&self, cost: u64) {
        let inc = cost.saturating_mul(self.interval_ns);
        let _ = self
            .tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_sub(inc))
            });
    }

    /// True when the bucket is full again: it is then the same as a fresh one.
    pub(crate) fn is_idle(&self, now_ns: u64) -> bool {
        self.tat.load(Ordering::Acquire) <= now_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn steady_rate_and_burst() {
        let g = Gcra::new(60, 1);
        assert!(g.try_take(10 * S, 1).is_ok());
        let wait = g.try_take(10 * S, 1).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(g.try_take(11 * S, 1).is_ok());

        let g = Gcra::new(60, 3);
        for _ in 0..3 {
            assert!(g.try_take(10 * S, 1).is_ok());
        }
        assert!(g.try_take(10 * S, 1).is_err());
    }

    #[test]
    fn oversized_take_needs_a_full_bucket() {
        let g = Gcra::new(600, 10);
        assert!(g.try_take(10 * S, 50).is_ok());
        // The bucket now runs 5 s ahead of a 1 s allowance: a small take waits 4.1 s.
        let wait = g.try_take(10 * S, 1).unwrap_err();
        assert_eq!(wait, Duration::from_millis(4_100));
        assert!(g.try_take(15 * S, 50).is_ok());
    }

    #[test]
    fn wait_agrees_with_try_take() {
        let g = Gcra::new(60, 1);
        assert_eq!(g.wait(10 * S, 1), Duration::ZERO);
        assert!(g.try_take(10 * S, 1).is_ok());
        assert_eq!(g.wait(10 * S, 1), g.try_take(10 * S, 1).unwrap_err());
        assert_eq!(g.wait(11 * S, 1), Duration::ZERO);
    }

    #[test]
    fn undo_restores() {
        let g = Gcra::new(60, 1);
        assert!(g.try_take(10 * S, 1).is_ok());
        g.undo(1);
        assert!(g.is_idle(10 * S));
        assert!(g.try_take(10 * S, 1).is_ok());
    }

    #[test]
    fn extremes_do_not_panic() {
        let g = Gcra::new(u64::MAX, u64::MAX);
        assert!(g.try_take(u64::MAX, u64::MAX).is_ok());
        let g = Gcra::new(0, 0);
        assert!(g.try_take(0, 1).is_ok());
        let _ = g.try_take(0, u64::MAX);
        g.undo(u64::MAX);
    }
}
