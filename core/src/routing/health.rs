//! Live health of one deployment: circuit breaker, 429 cooldown, latency EWMA, in-flight count.
//!
//! Read on every routing decision, so reads are plain atomic loads; only the rolling error
//! window takes a (short, uncontended) lock, and only when an outcome is recorded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::capacity::CapacityRegistry;
use crate::config::HealthPolicy;
use crate::error::{Error, ErrorKind};

/// Circuit-breaker state, for metrics and routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls flow.
    Closed,
    /// Calls are held back until the open period ends.
    Open,
    /// One probe call is in flight; its outcome closes or re-opens the circuit.
    HalfOpen,
}

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// Weight of the newest sample in the latency moving average.
const EWMA_ALPHA: f64 = 0.2;
/// Buckets in the rolling error window: old outcomes age out a tenth of a window at a time.
const WINDOW_BUCKETS: usize = 10;

/// Whether a deployment can take a call right now, without claiming anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Availability {
    Ready,
    /// Open (or a stale half-open) and due for its probe: usable only by claiming the slot.
    ProbeDue,
    Unavailable,
}

/// The policy's numbers, in atomics so a reload can change them under live readers.
#[derive(Debug)]
struct PolicyCell {
    consecutive_failures: AtomicU32,
    error_ratio_bits: AtomicU64,
    window_ms: AtomicU64,
    min_calls: AtomicU32,
    open_ns: AtomicU64,
    cooldown_ns: AtomicU64,
}

impl PolicyCell {
    fn new(policy: &HealthPolicy) -> Self {
        let cell = PolicyCell {
            consecutive_failures: AtomicU32::new(0),
            error_ratio_bits: AtomicU64::new(0),
            window_ms: AtomicU64::new(0),
            min_calls: AtomicU32::new(0),
            open_ns: AtomicU64::new(0),
            cooldown_ns: AtomicU64::new(0),
        };
        cell.store(policy);
        cell
    }

    fn store(&self, p: &HealthPolicy) {
        // Invalid values are rejected by config validation; clamp anyway so nothing here can misbehave.
        self.consecutive_failures
            .store(p.consecutive_failures.max(1), Ordering::Relaxed);
        let ratio = if p.error_ratio.is_finite() && p.error_ratio > 0.0 {
            p.error_ratio.min(1.0)
        } else {
            1.0
        };
        self.error_ratio_bits
            .store(ratio.to_bits(), Ordering::Relaxed);
        self.window_ms.store(
            p.window_secs.max(1).saturating_mul(1_000),
            Ordering::Relaxed,
        );
        self.min_calls.store(p.min_calls.max(1), Ordering::Relaxed);
        self.open_ns
            .store(p.open_secs.saturating_mul(1_000_000_000), Ordering::Relaxed);
        self.cooldown_ns
            .store(p.cooldown_ms.saturating_mul(1_000_000), Ordering::Relaxed);
    }
}

/// Outcome counts per time bucket, for the error-ratio rule.
#[derive(Debug, Default)]
struct Window {
    bucket_ms: u64,
    /// (bucket index, calls, failures) per ring slot.
    slots: [(u64, u32, u32); WINDOW_BUCKETS],
}

impl Window {
    /// Counts one outcome and returns (calls, failures) over the window.
    fn record(&mut self, now_ms: u64, window_ms: u64, failed: bool) -> (u32, u32) {
        let bucket_ms = (window_ms / WINDOW_BUCKETS as u64).max(1);
        if bucket_ms != self.bucket_ms {
            // The window length changed on reload: old buckets mean something else now.
            *self = Window {
                bucket_ms,
                ..Window::default()
            };
        }
        let index = now_ms / bucket_ms;
        let slot = &mut self.slots[(index % WINDOW_BUCKETS as u64) as usize];
        if slot.0 != index {
            *slot = (index, 0, 0);
        }
        slot.1 = slot.1.saturating_add(1);
        if failed {
            slot.2 = slot.2.saturating_add(1);
        }
        let oldest = index.saturating_sub(WINDOW_BUCKETS as u64 - 1);
        self.slots
            .iter()
            .filter(|(i, _, _)| *i >= oldest && *i <= index)
            .fold((0u32, 0u32), |(c, f), (_, sc, sf)| {
                (c.saturating_add(*sc), f.saturating_add(*sf))
            })
    }

    fn clear(&mut self) {
        self.slots = Default::default();
    }
}

/// Live state of one deployment. Shared across config reloads: the registry keys it by a stable identity
/// (provider name + upstream model + deployment name), so a reload that keeps a deployment keeps its health.
#[derive(Debug)]
pub struct DeploymentHealth {
    identity: String,
    policy: PolicyCell,
    /// Times are nanoseconds since this instant, so they fit in atomics.
    epoch: Instant,
    state: AtomicU8,
    /// Open: when the probe becomes due. Half-open: when an unanswered probe slot expires.
    open_until: AtomicU64,
    cooldown_until: AtomicU64,
    consecutive: AtomicU32,
    /// f64 bits of the latency EWMA in nanoseconds; 0 until the first sample.
    latency_bits: AtomicU64,
    inflight: AtomicU32,
    window: Mutex<Window>,
}

impl DeploymentHealth {
    pub fn new(identity: impl Into<String>, policy: &HealthPolicy) -> Self {
        DeploymentHealth {
            identity: identity.into(),
            policy: PolicyCell::new(policy),
            epoch: Instant::now(),
            state: AtomicU8::new(CLOSED),
            open_until: AtomicU64::new(0),
            cooldown_until: AtomicU64::new(0),
            consecutive: AtomicU32::new(0),
            latency_bits: AtomicU64::new(0),
            inflight: AtomicU32::new(0),
            window: Mutex::new(Window::default()),
        }
    }

    /// The registry key: provider, upstream model and deployment name.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Applies a reloaded policy; state and counters are kept.
    pub fn set_policy(&self, policy: &HealthPolicy) {
        self.policy.store(policy);
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn instant(&self, nanos: u64) -> Option<Instant> {
        self.epoch.checked_add(Duration::from_nanos(nanos))
    }

    /// Closed, or open-but-due for the half-open probe (which this call then claims: only one
    /// caller gets it), and not cooling down after a 429.
    pub fn is_available(&self, now: Instant) -> bool {
        match self.peek(now) {
            Availability::Ready => true,
            Availability::ProbeDue => self.try_claim_probe(now),
            Availability::Unavailable => false,
        }
    }

    /// Availability without side effects, so a router can look at many and claim one.
    pub(crate) fn peek(&self, now: Instant) -> Availability {
        let now_ns = self.nanos(now);
        if now_ns < self.cooldown_until.load(Ordering::Acquire) {
            return Availability::Unavailable;
        }
        if self.state.load(Ordering::Acquire) == CLOSED {
            return Availability::Ready;
        }
        if now_ns >= self.open_until.load(Ordering::Acquire) {
            Availability::ProbeDue
        } else {
            Availability::Unavailable
        }
    }

    /// Claims the half-open probe slot. The compare-exchange on `open_until` makes exactly one
    /// caller win per expiry; the slot itself expires after `open_secs` in case the probe's
    /// outcome is never recorded (a dropped call must not strand the deployment).
    pub(crate) fn try_claim_probe(&self, now: Instant) -> bool {
        if self.state.load(Ordering::Acquire) == CLOSED {
            return true;
        }
        let now_ns = self.nanos(now);
        let until = self.open_until.load(Ordering::Acquire);
        if now_ns < until {
            return false;
        }
        let expiry = now_ns.saturating_add(self.policy.open_ns.load(Ordering::Relaxed));
        // A zero-length open period still needs an expiry strictly after `until` to win once.
        let expiry = expiry.max(until.saturating_add(1));
        if self
            .open_until
            .compare_exchange(until, expiry, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        // The circuit may have closed (a late success) between the checks; only move Open → HalfOpen.
        let _ = self
            .state
            .compare_exchange(OPEN, HALF_OPEN, Ordering::AcqRel, Ordering::Acquire);
        tracing::debug!(deployment = %self.identity, "circuit half-open: probe call let through");
        true
    }

    /// A successful call: closes a half-open circuit and feeds the latency average.
    pub fn record_success(&self, latency: Duration) {
        self.record_success_at(latency, Instant::now());
    }

    pub fn record_success_at(&self, latency: Duration, now: Instant) {
        self.consecutive.store(0, Ordering::Release);
        self.observe_latency(latency);
        let window_ms = self.policy.window_ms.load(Ordering::Relaxed);
        self.with_window(|w| {
            w.record(self.nanos(now) / 1_000_000, window_ms, false);
        });
        if self
            .state
            .compare_exchange(HALF_OPEN, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.with_window(Window::clear);
            tracing::info!(deployment = %self.identity, "circuit closed: probe call succeeded");
        }
    }

    /// Closes the circuit whatever its state: an active probe showed the deployment answers.
    pub fn close(&self) {
        self.consecutive.store(0, Ordering::Release);
        self.open_until.store(0, Ordering::Release);
        if self.state.swap(CLOSED, Ordering::AcqRel) != CLOSED {
            self.with_window(Window::clear);
            tracing::info!(deployment = %self.identity, "circuit closed by active probe");
        }
    }

    fn observe_latency(&self, latency: Duration) {
        let sample = latency.as_nanos() as f64;
        let _ = self
            .latency_bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                let next = if bits == 0 {
                    sample
                } else {
                    let old = f64::from_bits(bits);
                    old + EWMA_ALPHA * (sample - old)
                };
                // 0 means "no sample yet"; a measured 0 ns is stored as 1 ns.
                Some(next.max(1.0).to_bits())
            });
    }

    /// A failed call. 429 puts the deployment in cooldown (never opens the circuit); failures
    /// that say something about the deployment count toward the breaker; the caller's own
    /// mistakes (bad request, context window, content policy, cancel, budget, config) do not.
    pub fn record_failure(&self, error: &Error) {
        self.record_failure_at(error, Instant::now());
    }

    pub fn record_failure_at(&self, error: &Error, now: Instant) {
        let now_ns = self.nanos(now);
        if let ErrorKind::RateLimited { retry_after } = error.kind() {
            let wait = retry_after.map_or_else(
                || self.policy.cooldown_ns.load(Ordering::Relaxed),
                |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            );
            self.cooldown_until
                .fetch_max(now_ns.saturating_add(wait), Ordering::AcqRel);
            tracing::debug!(deployment = %self.identity, cooldown_ms = wait / 1_000_000, "rate limited: cooling down");
            self.release_probe_slot(now_ns);
            return;
        }
        if !counts_against_deployment(error) {
            self.release_probe_slot(now_ns);
            return;
        }
        let open_ns = self.policy.open_ns.load(Ordering::Relaxed);
        match self.state.load(Ordering::Acquire) {
            HALF_OPEN => {
                self.open_until
                    .store(now_ns.saturating_add(open_ns), Ordering::Release);
                if self
                    .state
                    .compare_exchange(HALF_OPEN, OPEN, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    tracing::warn!(deployment = %self.identity, error = %error, "circuit re-opened: probe call failed");
                }
            }
            CLOSED => {
                let consecutive = self.consecutive.fetch_add(1, Ordering::AcqRel) + 1;
                let window_ms = self.policy.window_ms.load(Ordering::Relaxed);
                let (calls, failures) =
                    self.with_window(|w| w.record(now_ns / 1_000_000, window_ms, true));
                let ratio = f64::from_bits(self.policy.error_ratio_bits.load(Ordering::Relaxed));
                let by_streak =
                    consecutive >= self.policy.consecutive_failures.load(Ordering::Relaxed);
                let by_ratio = calls >= self.policy.min_calls.load(Ordering::Relaxed)
                    && f64::from(failures) >= ratio * f64::from(calls);
                if by_streak || by_ratio {
                    self.open_until
                        .store(now_ns.saturating_add(open_ns), Ordering::Release);
                    if self
                        .state
                        .compare_exchange(CLOSED, OPEN, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        tracing::warn!(
                            deployment = %self.identity,
                            consecutive,
                            calls,
                            failures,
                            error = %error,
                            "circuit opened"
                        );
                    }
                }
            }
            // Already open: a late failure of a call started before opening changes nothing.
            _ => {}
        }
    }

    /// A half-open probe that ended without a verdict frees the slot for the next caller.
    fn release_probe_slot(&self, now_ns: u64) {
        if self.state.load(Ordering::Acquire) == HALF_OPEN {
            self.open_until.fetch_min(now_ns, Ordering::AcqRel);
        }
    }

    fn with_window<T>(&self, f: impl FnOnce(&mut Window) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-count; the counts are still usable.
        let mut guard = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Counts a call in flight until the guard drops (for `least_inflight`).
    pub fn begin(self: &Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::AcqRel);
        InflightGuard {
            health: Arc::clone(self),
        }
    }

    pub fn circuit(&self) -> CircuitState {
        match self.state.load(Ordering::Acquire) {
            CLOSED => CircuitState::Closed,
            OPEN => CircuitState::Open,
            _ => CircuitState::HalfOpen,
        }
    }

    /// Whether a 429 cooldown is running at `now`.
    pub fn is_cooling_down(&self, now: Instant) -> bool {
        self.nanos(now) < self.cooldown_until.load(Ordering::Acquire)
    }

    pub fn latency_ewma(&self) -> Option<Duration> {
        let bits = self.latency_bits.load(Ordering::Acquire);
        (bits != 0).then(|| Duration::from_nanos(f64::from_bits(bits) as u64))
    }

    /// The EWMA in nanoseconds, for the router (no Duration round trip).
    pub(crate) fn latency_ns(&self) -> Option<f64> {
        let bits = self.latency_bits.load(Ordering::Acquire);
        (bits != 0).then(|| f64::from_bits(bits))
    }

    pub fn inflight(&self) -> u32 {
        self.inflight.load(Ordering::Acquire)
    }

    /// When this deployment can next take a call: the later of the cooldown end and, unless
    /// closed, the end of the open period. `None` only if that lies beyond what `Instant` holds.
    pub fn available_at(&self) -> Option<Instant> {
        let mut at = self.cooldown_until.load(Ordering::Acquire);
        if self.state.load(Ordering::Acquire) != CLOSED {
            at = at.max(self.open_until.load(Ordering::Acquire));
        }
        self.instant(at)
    }
}

/// Whether an error says something about the deployment itself (and so counts toward its breaker).
pub fn counts_against_deployment(error: &Error) -> bool {
    match error.kind() {
        ErrorKind::Upstream { status } => {
            *status >= 500 || *status == 408 || (200..300).contains(status)
        }
        ErrorKind::Timeout | ErrorKind::Network | ErrorKind::Auth => true,
        _ => false,
    }
}

/// Holds one in-flight slot of a deployment; dropping it gives the slot back.
#[derive(Debug)]
pub struct InflightGuard {
    health: Arc<DeploymentHealth>,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        let _ = self
            .health
            .inflight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

/// Health of every deployment, by stable identity, so it survives config reloads; beside
/// it the deployments' capacity gates, which outlive reloads the same way.
#[derive(Debug, Default)]
pub struct HealthRegistry {
    entries: Mutex<HashMap<String, Weak<DeploymentHealth>>>,
    pub(crate) capacity: CapacityRegistry,
}

impl HealthRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The live health for `identity`, created on first use; a known one takes the (reloaded)
    /// policy. Entries no route holds any more are dropped here, so removed deployments don't leak.
    pub fn get(&self, identity: &str, policy: &HealthPolicy) -> Arc<DeploymentHealth> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(health) = entries.get(identity).and_then(Weak::upgrade) {
            health.set_policy(policy);
            return health;
        }
        entries.retain(|_, weak| weak.strong_count() > 0);
        let health = Arc::new(DeploymentHealth::new(identity, policy));
        entries.insert(identity.to_owned(), Arc::downgrade(&health));
        health
    }

    /// Deployments currently tracked (held by at least one route).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn policy() -> HealthPolicy {
        HealthPolicy {
            consecutive_failures: 3,
            error_ratio: 0.5,
            window_secs: 10,
            min_calls: 10,
            open_secs: 30,
            cooldown_ms: 1_000,
            probe_interval_secs: None,
        }
    }

    fn upstream(status: u16) -> Error {
        Error::new(ErrorKind::Upstream { status }, "x")
    }

    fn rate_limited(after: Option<Duration>) -> Error {
        Error::new(ErrorKind::RateLimited { retry_after: after }, "slow down")
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn opens_after_n_consecutive_failures_and_a_success_resets_the_streak() {
        let h = DeploymentHealth::new("d", &policy());
        let t0 = Instant::now();
        h.record_failure_at(&upstream(500), t0);
        h.record_failure_at(&Error::timeout("slow"), t0);
        h.record_success_at(MS, t0);
        h.record_failure_at(&Error::network("reset"), t0);
        h.record_failure_at(&upstream(503), t0);
        assert_eq!(h.circuit(), CircuitState::Closed);
        assert!(h.is_available(t0));
        h.record_failure_at(&Error::new(ErrorKind::Auth, "bad key"), t0);
        assert_eq!(h.circuit(), CircuitState::Open);
        assert!(!h.is_available(t0));
        assert!(!h.is_available(t0 + Duration::from_secs(29)));
        assert_eq!(h.available_at(), Some(t0 + Duration::from_secs(30)));
    }

    #[test]
    fn error_ratio_opens_with_min_calls() {
        let p = HealthPolicy {
            consecutive_failures: 100,
            ..policy()
        };
        let h = DeploymentHealth::new("d", &p);
        let t0 = Instant::now();
        // Alternate: 50% errors, never 2 in a row. Opens on the 10th call, not before.
        for i in 0..9 {
            if i % 2 == 0 {
                h.record_failure_at(&upstream(502), t0);
            } else {
                h.record_success_at(MS, t0);
            }
        }
        assert_eq!(h.circuit(), CircuitState::Closed, "9 calls < min_calls");
        h.record_success_at(MS, t0);
        h.record_failure_at(&upstream(502), t0);
        assert_eq!(h.circuit(), CircuitState::Open);
    }

    #[test]
    fn error_ratio_forgets_outside_the_window() {
        let p = HealthPolicy {
            consecutive_failures: 100,
            min_calls: 4,
            ..policy()
        };
        let h = DeploymentHealth::new("d", &p);
        let t0 = Instant::now();
        h.record_failure_at(&upstream(500), t0);
        h.record_failure_at(&upstream(500), t0);
        h.record_success_at(MS, t0);
        // 20 s later the old failures are out of the 10 s window: 1 failure in 4 calls.
        let later = t0 + Duration::from_secs(20);
        for _ in 0..3 {
            h.record_success_at(MS, later);
        }
        h.record_failure_at(&upstream(500), later);
        assert_eq!(h.circuit(), CircuitState::Closed);
    }

    #[test]
    fn half_open_lets_one_probe_through_success_closes() {
        let h = DeploymentHealth::new("d", &policy());
        let t0 = Instant::now();
        for _ in 0..3 {
            h.record_failure_at(&upstream(500), t0);
        }
        let due = t0 + Duration::from_secs(30);
        assert!(h.is_available(due));
        assert_eq!(h.circuit(), CircuitState::HalfOpen);
        assert!(!h.is_available(due), "second caller must not get the probe");
        assert!(!h.is_available(due + Duration::from_secs(1)));
        h.record_success_at(MS, due);
        assert_eq!(h.circuit(), CircuitState::Closed);
        assert!(h.is_available(due));
        assert!(h.is_available(due));
    }

    #[test]
    fn failed_probe_reopens_for_another_open_period() {
        let h = DeploymentHealth::new("d", &policy());
        let t0 = Instant::now();
        for _ in 0..3 {
            h.record_failure_at(&upstream(500), t0);
        }
        let due = t0 + Duration::from_secs(30);
        assert!(h.is_available(due));
        h.record_failure_at(&Error::timeout("still slow"), due + Duration::from_secs(1));
        assert_eq!(h.circuit(), CircuitState::Open);
        assert!(!h.is_available(due + Duration::from_secs(30)));
        assert!(h.is_available(due + Duration::from_secs(31)));
    }

    #[test]
    fn a_probe_that_never_reports_frees_its_slot_after_open_secs() {
        let h = DeploymentHealth::new("d", &policy());
        let t0 = Instant::now();
        for _ in 0..3 {
            h.record_failure_at(&upstream(500), t0);
        }
        let due = t0 + Duration::from_secs(30);
        assert!(h.is_available(due));
        assert!(!h.is_available(due + Duration::from_secs(29)));
        assert!(h.is_available(due + Duration::from_secs(30)));
    }

    #[test]
    fn a_probe_ending_in_a_caller_error_frees_the_slot_without_a_verdict() {
        let h = DeploymentHealth::new("d", &policy());
        let t0 = Instant::now();
        for _ in 0..3 {
            h.record_failure_at(&upstream(500), t0);
        }
        let due = t0 + Duration::from_secs(30);
        assert!(h.is_available(due));
        h.record_failure_at(&Error::bad_request("messages", "empty"), due);
        assert_eq!(h.circuit(), CircuitState::HalfOpen);
        assert!(h.is_available(due), "next caller gets the probe");
        assert!(!h.is_available(due));
    }

    #[test]
    fn exactly_one_concurrent_caller_gets_the_probe() {
        let h = Arc::new(DeploymentHealth::new("d", &policy()));
        let t0 = Instant::now();
        for _ in 0..3 {
            h.record_failure_at(&upstream(500), t0);
        }
        let due = t0 + Duration::from_secs(31);
        for _ in 0..20 {
            // Re-open each round so every round races for a fresh slot.
            let threads = 8;
            let barrier = Arc::new(Barrier::new(threads));
            let winners = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (h, barrier, winners) = (h.clone(), barrier.clone(), winners.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        for _ in 0..100 {
                            if h.is_available(due) {
                                winners.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.join().unwrap();
            }
            assert_eq!(winners.load(Ordering::SeqCst), 1);
            h.record_failure_at(&upstream(500), t0);
            assert_eq!(h.circuit(), CircuitState::Open);
        }
    }

    #[test]
    fn rate_limit_cools_down_for_retry_after_without_opening() {
        let h = DeploymentHealth::new("d", &policy());
        let t0 = Instant::now();
        for _ in 0..10 {
            h.record_failure_at(&rate_limited(Some(Duration::from_secs(5))), t0);
        }
        assert_eq!(h.circuit(), CircuitState::Closed);
        assert!(!h.is_available(t0 + Duration::from_millis(4_999)));
        assert!(h.is_cooling_down(t0 + Duration::from_secs(1)));
        assert!(h.is_available(t0 + Duration::from_secs(5)));
        // No Retry-After: the policy's cooldown_ms.
        let t1 = t0 + Duration::from_secs(10);
        h.record_failure_at(&rate_limited(None), t1);
        assert!(!h.is_available(t1 + Duration::from_millis(999)));
        assert!(h.is_available(t1 + Duration::from_millis(1_000)));
        // A 429 does not break a failure streak either way, nor count toward it.
        h.record_failure_at(&upstream(500), t1);
        h.record_failure_at(&rate_limited(None), t1);
        h.record_failure_at(&upstream(500), t1);
        assert_eq!(h.circuit(), CircuitState::Closed);
    }

    #[test]
    fn caller_mistakes_do_not_count() {
        let h = DeploymentHealth::new("d", &policy());
        let t0 = Instant::now();
        let errors = [
            Error::bad_request("messages", "empty"),
            Error::new(ErrorKind::ContextWindowExceeded, "too long"),
            Error::new(ErrorKind::ContentPolicy, "no"),
            Error::canceled(),
            Error::new(ErrorKind::BudgetExceeded { budget: "b".into() }, "spent"),
            Error::new(ErrorKind::Config { path: "x".into() }, "bad"),
            upstream(404),
        ];
        for _ in 0..20 {
            for e in &errors {
                assert!(!counts_against_deployment(e), "{e}");
                h.record_failure_at(e, t0);
            }
        }
        assert_eq!(h.circuit(), CircuitState::Closed);
        assert!(h.is_available(t0));
        assert!(counts_against_deployment(&upstream(200)));
    }

    #[test]
    fn ewma_and_inflight() {
        let h = Arc::new(DeploymentHealth::new("d", &policy()));
        assert_eq!(h.latency_ewma(), None);
        h.record_success(Duration::from_millis(100));
        assert_eq!(h.latency_ewma(), Some(Duration::from_millis(100)));
        h.record_success(Duration::from_millis(200));
        let ewma = h.latency_ewma().unwrap();
        assert!(ewma > Duration::from_millis(110) && ewma < Duration::from_millis(190));
        let a = h.begin();
        let b = h.begin();
        assert_eq!(h.inflight(), 2);
        drop(a);
        assert_eq!(h.inflight(), 1);
        drop(b);
        assert_eq!(h.inflight(), 0);
    }

    #[test]
    fn registry_shares_by_identity_updates_policy_and_forgets_dropped() {
        let registry = HealthRegistry::new();
        let a = registry.get("x", &policy());
        let again = registry.get(
            "x",
            &HealthPolicy {
                consecutive_failures: 1,
                ..policy()
            },
        );
        assert!(Arc::ptr_eq(&a, &again));
        a.record_failure(&upstream(500));
        assert_eq!(a.circuit(), CircuitState::Open, "reloaded policy applies");
        assert_eq!(registry.len(), 1);
        drop((a, again));
        assert!(registry.is_empty());
        assert_eq!(registry.get("x", &policy()).circuit(), CircuitState::Closed);
    }

    #[test]
    fn extreme_policy_values_do_not_panic() {
        let p = HealthPolicy {
            consecutive_failures: 0,
            error_ratio: f64::NAN,
            window_secs: u64::MAX,
            min_calls: 0,
            open_secs: u64::MAX,
            cooldown_ms: u64::MAX,
            probe_interval_secs: Some(u64::MAX),
        };
        let h = DeploymentHealth::new("d", &p);
        let now = Instant::now();
        h.record_failure_at(&rate_limited(Some(Duration::MAX)), now);
        h.record_failure_at(&upstream(500), now);
        h.record_success_at(Duration::MAX, now);
        assert!(!h.is_available(now));
        let _ = h.available_at();
        assert_eq!(h.circuit(), CircuitState::Open);
    }
}
