//! How long a replica waits before connecting to PostgreSQL again: doubling from a
//! quarter of a second to ten seconds, with jitter so that replicas which lost the
//! database together do not all come back in the same instant.

use std::time::Duration;

use rand::Rng;

const FIRST: Duration = Duration::from_millis(250);
const MAX: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST }
    }
}

impl Backoff {
    /// The wait before the next attempt (between half and all of the current step).
    pub fn next_wait(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(MAX);
        step.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// After a success: the next failure starts from the first step again.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_start_over_after_a_reset() {
        let mut b = Backoff::default();
        let waits: Vec<Duration> = (0..8).map(|_| b.next_wait()).collect();
        assert!(waits[0] >= FIRST / 2 && waits[0] <= FIRST);
        assert!(waits[2] >= FIRST * 2 && waits[2] <= FIRST * 4);
        assert!(waits.iter().all(|w| *w <= MAX));
        assert!(waits[7] >= MAX / 2);
        b.reset();
        assert!(b.next_wait() <= FIRST);
    }
}
