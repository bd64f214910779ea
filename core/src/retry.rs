//! When to try again: exponential backoff with jitter (`backon`), overridden by a longer
//! Retry-After, and never past the call's deadline.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::config::RetryPolicy;
use crate::error::Error;

/// Between attempts to reach the management server (config, usage): 1 s doubling to a
/// minute, with up to 25% jitter so a fleet does not return at once.
pub fn reconnect_backoff(failures: u32) -> Duration {
    let base =
        Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60));
    base + base.mul_f64(rand::random::<f64>() * 0.25)
}

/// The retry plan of one call on one route.
#[derive(Debug)]
pub struct RetrySchedule {
    delays: ExponentialBackoff,
    max_retry_after: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this long.
    After(Duration),
    /// Stop retrying this route: move on to a fallback, or fail.
    GiveUp,
}

impl RetrySchedule {
    /// The plan of `policy`, with at most `max_retries` retries when the caller capped them.
    pub fn new(policy: &RetryPolicy, max_retries: Option<u32>) -> Self {
        let retries = policy.max_attempts.saturating_sub(1);
        let retries = max_retries.map_or(retries, |cap| retries.min(cap));
        let delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(policy.initial_backoff_ms))
            .with_max_delay(Duration::from_millis(policy.max_backoff_ms))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(retries as usize)
            .build();
        RetrySchedule {
            delays,
            max_retry_after: Duration::from_millis(policy.max_retry_after_ms),
        }
    }

    /// Decides after `error`. Only retryable errors are retried; a Retry-After longer than
    /// the policy allows, or a wait that would end past `deadline`, gives up instead.
    pub fn next(
        &mut self,
        error: &Error,
        now: Instant,
        deadline: Option<Instant>,
    ) -> RetryDecision {
        if !error.is_retryable() {
            return RetryDecision::GiveUp;
        }
        let Some(backoff) = self.delays.next() else {
            return RetryDecision::GiveUp;
        };
        let delay = match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => return RetryDecision::GiveUp,
            // Wait what was asked, plus a little of the jittered backoff so that many
            // clients throttled together do not all come back in the same instant.
            Some(asked) => asked + backoff.min(asked) / 10,
            None => backoff,
        };
        match deadline {
            Some(deadline) if now + delay >= deadline => RetryDecision::GiveUp,
            _ => RetryDecision::After(delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: attempts,
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            max_retry_after_ms: 5_000,
        }
    }

    fn server_error() -> Error {
        Error::new(ErrorKind::Upstream { status: 503 }, "busy")
    }

    #[test]
    fn stops_after_max_attempts() {
        let mut schedule = RetrySchedule::new(&policy(3), None);
        let now = Instant::now();
        assert!(matches!(
            schedule.next(&server_error(), now, None),
            RetryDecision::After(_)
        ));
        assert!(matches!(
            schedule.next(&server_error(), now, None),
            RetryDecision::After(_)
        ));
        assert_eq!(
            schedule.next(&server_error(), now, None),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn a_callers_cap_lowers_the_retries_never_raises_them() {
        let now = Instant::now();
        let mut none = RetrySchedule::new(&policy(3), Some(0));
        assert_eq!(none.next(&server_error(), now, None), RetryDecision::GiveUp);
        let mut one = RetrySchedule::new(&policy(3), Some(1));
        assert!(matches!(
            one.next(&server_error(), now, None),
            RetryDecision::After(_)
        ));
        assert_eq!(one.next(&server_error(), now, None), RetryDecision::GiveUp);
        let mut capped = RetrySchedule::new(&policy(2), Some(5));
        assert!(matches!(
            capped.next(&server_error(), now, None),
            RetryDecision::After(_)
        ));
        assert_eq!(
            capped.next(&server_error(), now, None),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn backoff_grows_with_jitter_within_bounds() {
        let mut schedule = RetrySchedule::new(&policy(6), None);
        let now = Instant::now();
        let mut previous_floor = Duration::from_millis(100);
        for _ in 0..5 {
            let RetryDecision::After(delay) = schedule.next(&server_error(), now, None) else {
                panic!("expected a retry");
            };
            assert!(
                delay >= previous_floor && delay <= previous_floor * 2,
                "{delay:?}"
            );
            previous_floor = (previous_floor * 2).min(Duration::from_millis(1_000));
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let now = Instant::now();
        let limited = |secs| {
            Error::new(
                ErrorKind::RateLimited {
                    retry_after: Some(Duration::from_secs(secs)),
                },
                "slow down",
            )
        };
        let mut schedule = RetrySchedule::new(&policy(3), None);
        let RetryDecision::After(delay) = schedule.next(&limited(2), now, None) else {
            panic!("expected a retry");
        };
        assert!(
            delay >= Duration::from_secs(2) && delay < Duration::from_millis(2_300),
            "{delay:?}"
        );
        assert_eq!(
            schedule.next(&limited(10), now, None),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn deadline_and_non_retryable_give_up() {
        let now = Instant::now();
        let mut schedule = RetrySchedule::new(&policy(3), None);
        assert_eq!(
            schedule.next(&server_error(), now, Some(now + Duration::from_millis(50))),
            RetryDecision::GiveUp
        );
        let mut schedule = RetrySchedule::new(&policy(3), None);
        assert_eq!(
            schedule.next(&Error::bad_request("messages", "empty"), now, None),
            RetryDecision::GiveUp
        );
    }
}
