//! RPM/TPM limits per scope (GCRA), and per-deployment capacity gates. A limit declared
//! `shared` is counted in Redis when the client has one (`crate::shared`), and in process
//! while Redis cannot answer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{Capacity, LimitAction, RateLimitConfig};
use crate::error::{Error, ErrorKind};

use super::gcra::Gcra;
use super::scope::CallScope;
use crate::shared::{BucketSpec, SharedLimits, Taken};

/// Idle buckets are dropped once a limit tracks more scope values than this.
const PRUNE_ABOVE: usize = 4_096;

/// Burst when none is configured: a tenth of a minute's worth, at least 1.
fn default_burst(per_minute: u64) -> u64 {
    (per_minute / 10).max(1)
}

/// One scope value's buckets under one limit.
#[derive(Debug)]
struct Buckets {
    requests: Option<Gcra>,
    tokens: Option<Gcra>,
}

impl Buckets {
    /// `burst` counts calls. Tokens get the same burst window: `burst` calls' share of
    /// the minute when rpm is set too, else a tenth of a minute.
    fn new(rpm: Option<u32>, tpm: Option<u64>, burst: Option<u32>) -> Self {
        let requests = rpm.map(|rpm| {
            let rpm = u64::from(rpm);
            Gcra::new(rpm, burst.map_or_else(|| default_burst(rpm), u64::from))
        });
        let tokens = tpm.map(|tpm| {
            let tok_burst = match (burst, rpm) {
                (Some(b), Some(rpm)) if rpm > 0 => {
                    (u128::from(tpm) * u128::from(b) / u128::from(rpm)) as u64
                }
                _ => default_burst(tpm),
            };
            Gcra::new(tpm, tok_burst.max(1))
        });
        Buckets { requests, tokens }
    }

    /// Takes one request and `tokens` tokens, or neither.
    fn try_take(&self, now_ns: u64, tokens: u64) -> Result<(), Duration> {
        if let Some(r) = &self.requests {
            r.try_take(now_ns, 1)?;
        }
        if let Some(t) = &self.tokens
            && let Err(wait) = t.try_take(now_ns, tokens)
        {
            if let Some(r) = &self.requests {
                r.undo(1);
            }
            return Err(wait);
        }
        Ok(())
    }

    /// How long until `try_take(tokens)` would pass, without taking.
    fn wait(&self, now_ns: u64, tokens: u64) -> Duration {
        let requests = self
            .requests
            .as_ref()
            .map_or(Duration::ZERO, |r| r.wait(now_ns, 1));
        let tokens = self
            .tokens
            .as_ref()
            .map_or(Duration::ZERO, |t| t.wait(now_ns, tokens));
        requests.max(tokens)
    }

    fn undo(&self, tokens: u64) {
        if let Some(r) = &self.requests {
            r.undo(1);
        }
        if let Some(t) = &self.tokens {
            t.undo(tokens);
        }
    }

    /// This scope value's buckets as the shared tier runs them, for a take of `tokens`.
    fn specs(
        &self,
        shared: &SharedLimits,
        name: &str,
        value: &str,
        tokens: u64,
    ) -> Vec<BucketSpec> {
        let spec = |gcra: &Gcra, kind: &str, cost: u64| {
            let (interval_ns, allowance_ns) = gcra.params();
            BucketSpec {
                key: shared.bucket_key(name, value, kind),
                interval_ns,
                allowance_ns,
                cost,
            }
        };
        let requests = self.requests.as_ref().map(|g| spec(g, "rpm", 1));
        let tokens = self.tokens.as_ref().map(|g| spec(g, "tpm", tokens));
        requests.into_iter().chain(tokens).collect()
    }

    fn is_idle(&self, now_ns: u64) -> bool {
        self.requests.as_ref().is_none_or(|g| g.is_idle(now_ns))
            && self.tokens.as_ref().is_none_or(|g| g.is_idle(now_ns))
    }
}

#[derive(Debug)]
struct Limit {
    config: RateLimitConfig,
    buckets: RwLock<HashMap<String, Arc<Buckets>>>,
}

impl Limit {
    fn bucket(&self, value: &str, now_ns: u64) -> Arc<Buckets> {
        {
            let map = self.buckets.read().unwrap_or_else(|e| e.into_inner());
            if let Some(b) = map.get(value) {
                return Arc::clone(b);
            }
        }
        let mut map = self.buckets.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PRUNE_ABOVE {
            map.retain(|_, b| Arc::strong_count(b) > 1 || !b.is_idle(now_ns));
        }
        let c = &self.config;
        Arc::clone(
            map.entry(value.to_owned())
                .or_insert_with(|| Arc::new(Buckets::new(c.rpm, c.tpm, c.burst))),
        )
    }
}

/// Every configured rate limit.
#[derive(Debug)]
pub struct RateLimits {
    limits: Vec<Limit>,
    base: Instant,
    /// Where `shared` limits are counted; without it they count in process like the rest.
    shared: Option<Arc<SharedLimits>>,
}

/// One bucket set a call takes from: its limit, the scope value, and the buckets.
type Target<'a> = (&'a Limit, &'a str, Arc<Buckets>);

impl RateLimits {
    pub fn new(configs: &[RateLimitConfig]) -> Self {
        RateLimits {
            limits: configs
                .iter()
                .map(|c| Limit {
                    config: c.clone(),
                    buckets: RwLock::new(HashMap::new()),
                })
                .collect(),
            base: Instant::now(),
            shared: None,
        }
    }

    /// Counts the limits declared `shared` in Redis through `shared`.
    pub(crate) fn with_shared(mut self, shared: Option<Arc<SharedLimits>>) -> Self {
        self.shared = shared;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Whether a tokens-per-minute limit applies to `scope`: only then is the call's
    /// token estimate needed for admission.
    pub fn counts_tokens(&self, scope: &CallScope) -> bool {
        self.limits.iter().any(|limit| {
            limit.config.tpm.is_some()
                && scope.matches(limit.config.scope, limit.config.value.as_deref())
        })
    }

    fn now_ns(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Admit one call of `tokens` estimated tokens for `scope`: for each applicable limit,
    /// GCRA on requests (rpm) and on tokens (tpm). All limits admit or none is charged.
    ///
    /// `LimitAction::Wait`: sleep until admitted, but at most `max_wait_ms` and never past
    /// `deadline`; `Reject` (or a wait that would pass those) gives `RateLimited` with the
    /// time after which a retry would pass.
    pub async fn admit(
        &self,
        scope: &CallScope,
        tokens: u64,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), Error> {
        if self.limits.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        let deadline = deadline.map(Instant::from_std);
        let start_ns = self.now_ns(start);
        let mut local: Vec<Target<'_>> = Vec::new();
        let mut remote: Vec<Target<'_>> = Vec::new();
        for limit in &self.limits {
            for value in scope.values(limit.config.scope, limit.config.value.as_deref()) {
                let target = (limit, value, limit.bucket(value, start_ns));
                if limit.config.shared && self.shared.is_some() {
                    remote.push(target);
                } else {
                    local.push(target);
                }
            }
        }
        loop {
            let now = Instant::now();
            let Err((limit, value, wait)) = self.take(&local, &remote, now, tokens).await else {
                return Ok(());
            };
            let c = &limit.config;
            let max_wait = Duration::from_millis(c.max_wait_ms);
            let too_long = now.saturating_duration_since(start) + wait > max_wait;
            let past_deadline = deadline.is_some_and(|d| now + wait > d);
            if c.action == LimitAction::Reject || too_long || past_deadline {
                tracing::info!(
                    limit = %c.name,
                    scope_value = value,
                    retry_after_ms = wait.as_millis() as u64,
                    "rate limit refused a call"
                );
                return Err(Error::new(
                    ErrorKind::RateLimited {
                        retry_after: Some(wait),
                    },
                    format!("rate limit '{}' reached for '{}'", c.name, value),
                ));
            }
            tracing::debug!(limit = %c.name, scope_value = value, wait_ms = wait.as_millis() as u64, "waiting for rate limit");
            tokio::time::sleep(wait).await;
        }
    }
}

impl RateLimits {
    /// One attempt at every limit, all or none: the in-process buckets, then the shared
    /// ones in one script run (in process when Redis cannot answer). On a refusal, the
    /// refusing limit, its scope value and how long until it would admit.
    async fn take<'a>(
        &self,
        local: &[Target<'a>],
        remote: &[Target<'a>],
        now: Instant,
        tokens: u64,
    ) -> Result<(), (&'a Limit, &'a str, Duration)> {
        let now_ns = self.now_ns(now);
        try_all(local, now_ns, tokens).map_err(|(i, wait)| (local[i].0, local[i].1, wait))?;
        let Some(shared) = self.shared.as_ref().filter(|_| !remote.is_empty()) else {
            return Ok(());
        };
        let mut specs = Vec::new();
        let mut owners = Vec::new();
        for (i, (limit, value, buckets)) in remote.iter().enumerate() {
            let taken = buckets.specs(shared, &limit.config.name, value, tokens);
            owners.extend(std::iter::repeat_n(i, taken.len()));
            specs.extend(taken);
        }
        let (i, wait) = match shared.take(&specs).await {
            Some(Taken::All) => return Ok(()),
            Some(Taken::Refused { index, wait }) => (owners.get(index).copied().unwrap_or(0), wait),
            None => match try_all(remote, now_ns, tokens) {
                Ok(()) => return Ok(()),
                Err(refused) => refused,
            },
        };
        for (_, _, buckets) in local {
            buckets.undo(tokens);
        }
        Err((remote[i].0, remote[i].1, wait))
    }
}

/// Takes from every bucket, or from none: on a refusal the earlier takes are given back.
fn try_all(targets: &[Target<'_>], now_ns: u64, tokens: u64) -> Result<(), (usize, Duration)> {
    for (i, (_, _, bucket)) in targets.iter().enumerate() {
        if let Err(wait) = bucket.try_take(now_ns, tokens) {
            for (_, _, taken) in &targets[..i] {
                taken.undo(tokens);
            }
            return Err((i, wait));
        }
    }
    Ok(())
}

/// Per-deployment capacity (`DeploymentConfig.capacity`): a non-waiting check the router
/// uses to skip a deployment at capacity rather than queue behind it.
#[derive(Debug)]
pub struct CapacityGate {
    capacity: Capacity,
    buckets: Buckets,
    base: Instant,
}

impl CapacityGate {
    /// `None` when the capacity limits nothing (no rpm, no tpm, or zeros): such a
    /// deployment needs no gate and its calls pay nothing.
    pub fn new(capacity: Capacity) -> Option<Self> {
        let rpm = capacity.rpm.filter(|r| *r > 0);
        let tpm = capacity.tpm.filter(|t| *t > 0);
        if rpm.is_none() && tpm.is_none() {
            return None;
        }
        Some(CapacityGate {
            capacity,
            buckets: Buckets::new(rpm, tpm, None),
            base: Instant::now(),
        })
    }

    /// The limits this gate enforces, so a reload can tell whether they changed.
    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// Whether a take is charged by tokens (a tpm is set), so callers need an estimate.
    pub fn counts_tokens(&self) -> bool {
        self.buckets.tokens.is_some()
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(
            Instant::now()
                .saturating_duration_since(self.base)
                .as_nanos(),
        )
        .unwrap_or(u64::MAX)
    }

    /// Takes one request of `tokens` tokens if the deployment has room for it now.
    pub fn try_take(&self, tokens: u64) -> bool {
        self.buckets.try_take(self.now_ns(), tokens).is_ok()
    }

    /// How long until a request of `tokens` tokens would fit (zero: it fits now).
    pub fn wait(&self, tokens: u64) -> Duration {
        self.buckets.wait(self.now_ns(), tokens)
    }

    /// Gives back a take that was not used (the router lost a race for a probe slot).
    pub fn undo(&self, tokens: u64) {
        self.buckets.undo(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScopeKind;

    fn limit(
        scope: ScopeKind,
        rpm: Option<u32>,
        tpm: Option<u64>,
        burst: Option<u32>,
    ) -> RateLimitConfig {
        RateLimitConfig {
            name: "l".into(),
            scope,
            value: None,
            rpm,
            tpm,
            burst,
            action: LimitAction::Reject,
            max_wait_ms: 5_000,
            shared: false,
        }
    }

    fn user(u: &str) -> CallScope {
        CallScope {
            user: Some(u.into()),
            ..CallScope::new("chat")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rpm_burst_one_rejects_the_second_with_retry_after() {
        let rl = RateLimits::new(&[limit(ScopeKind::User, Some(60), None, Some(1))]);
        rl.admit(&user("a"), 10, None).await.unwrap();
        let err = rl.admit(&user("a"), 10, None).await.unwrap_err();
        let after = err.retry_after().unwrap();
        assert!(
            after <= Duration::from_secs(1) && after > Duration::from_millis(990),
            "{after:?}"
        );
        assert_eq!(err.code(), "rate_limited");
        tokio::time::advance(after).await;
        rl.admit(&user("a"), 10, None).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn wait_mode_waits() {
        let mut cfg = limit(ScopeKind::User, Some(60), None, Some(1));
        cfg.action = LimitAction::Wait;
        let rl = RateLimits::new(&[cfg]);
        let t0 = Instant::now();
        for _ in 0..4 {
            rl.admit(&user("a"), 1, None).await.unwrap();
        }
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_secs(3) && waited < Duration::from_millis(3100),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn wait_mode_respects_max_wait_and_deadline() {
        let mut cfg = limit(ScopeKind::User, Some(6), None, Some(1));
        cfg.action = LimitAction::Wait;
        cfg.max_wait_ms = 5_000;
        let rl = RateLimits::new(&[cfg]);
        rl.admit(&user("a"), 1, None).await.unwrap();
        // The next slot is 10 s away: past max_wait, refused without sleeping.
        let t0 = Instant::now();
        let err = rl.admit(&user("a"), 1, None).await.unwrap_err();
        assert!(err.retry_after().unwrap() > Duration::from_secs(9));
        assert_eq!(t0.elapsed(), Duration::ZERO);

        let mut cfg = limit(ScopeKind::User, Some(60), None, Some(1));
        cfg.action = LimitAction::Wait;
        let rl = RateLimits::new(&[cfg]);
        rl.admit(&user("a"), 1, None).await.unwrap();
        let soon = std::time::Instant::now() + Duration::from_millis(500);
        assert!(rl.admit(&user("a"), 1, Some(soon)).await.is_err());
        let later = std::time::Instant::now() + Duration::from_secs(2);
        rl.admit(&user("a"), 1, Some(later)).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn tpm_counts_tokens() {
        // 6000 tpm, default burst a tenth of a minute = 600 tokens.
        let rl = RateLimits::new(&[limit(ScopeKind::User, None, Some(6_000), None)]);
        rl.admit(&user("a"), 400, None).await.unwrap();
        rl.admit(&user("a"), 200, None).await.unwrap();
        let err = rl.admit(&user("a"), 100, None).await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
        // An oversized call passes once the bucket is full again.
        tokio::time::advance(Duration::from_secs(6)).await;
        rl.admit(&user("a"), 5_000, None).await.unwrap();
        assert!(rl.admit(&user("a"), 1, None).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn scope_values_have_their_own_buckets() {
        let rl = RateLimits::new(&[limit(ScopeKind::User, Some(60), None, Some(1))]);
        rl.admit(&user("a"), 1, None).await.unwrap();
        rl.admit(&user("b"), 1, None).await.unwrap();
        assert!(rl.admit(&user("a"), 1, None).await.is_err());
        // A call with no user is not subject to a user limit.
        rl.admit(&CallScope::new("chat"), 1, None).await.unwrap();
        rl.admit(&CallScope::new("chat"), 1, None).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusing_limit_charges_no_other() {
        let rl = RateLimits::new(&[
            limit(ScopeKind::Model, Some(60), None, Some(5)),
            limit(ScopeKind::User, Some(60), None, Some(1)),
        ]);
        rl.admit(&user("a"), 1, None).await.unwrap();
        for _ in 0..10 {
            assert!(rl.admit(&user("a"), 1, None).await.is_err());
        }
        // The model limit was charged once: four more distinct users fit in its burst of 5.
        for u in ["b", "c", "d", "e"] {
            rl.admit(&user(u), 1, None).await.unwrap();
        }
        assert!(rl.admit(&user("f"), 1, None).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_gate() {
        let gate = CapacityGate::new(Capacity {
            rpm: Some(20),
            tpm: Some(10_000),
        })
        .unwrap();
        assert!(gate.counts_tokens());
        // Default bursts: 2 requests, 1000 tokens.
        assert!(gate.try_take(500));
        assert!(!gate.try_take(600));
        assert_eq!(gate.wait(600), Duration::from_millis(600));
        assert!(gate.try_take(400));
        assert!(!gate.try_take(1));
        assert_eq!(gate.wait(0), Duration::from_secs(3));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(gate.wait(100), Duration::ZERO);
        assert!(gate.try_take(100));
        gate.undo(100);
        assert!(gate.try_take(100));
        // Nothing to limit: no gate at all.
        for (rpm, tpm) in [(None, None), (Some(0), Some(0)), (Some(0), None)] {
            assert!(CapacityGate::new(Capacity { rpm, tpm }).is_none());
        }
        let requests_only = CapacityGate::new(Capacity {
            rpm: Some(60),
            tpm: None,
        })
        .unwrap();
        assert!(!requests_only.counts_tokens());
    }
}
