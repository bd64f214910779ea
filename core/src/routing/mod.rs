//! Step 4 of the pipeline, "pick": which deployment takes the next attempt of a call.
//!
//! A [`Route`] is built once per config load from one model; its deployments' live health
//! comes from a [`HealthRegistry`] that outlives reloads. [`Route::pick`] narrows to the
//! available deployments (rollout version first, untried before tried) and lets the model's
//! [`Strategy`] choose among them. A deployment at its declared capacity is skipped like an
//! unavailable one; the one picked is charged the attempt (see [`capacity`]).

mod capacity;
mod health;
mod probe;
mod rollout;
mod strategy;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::budget::CapacityGate;
use crate::config::{DeploymentConfig, HealthPolicy, ModelConfig, Strategy};
use crate::error::{Error, ErrorKind};

pub use health::{
    CircuitState, DeploymentHealth, HealthRegistry, InflightGuard, counts_against_deployment,
};
pub use probe::{ProbeTask, Prober, spawn_prober};
pub use rollout::{BUCKETS as ROLLOUT_BUCKETS, bucket_of};

use health::Availability;
use rollout::RolloutPlan;

/// Deployments a route can choose among: candidate sets are bitmasks over a `u64`.
pub const MAX_DEPLOYMENTS: usize = 64;

/// One deployment of a route, with its shared live health.
#[derive(Debug, Clone)]
pub struct RouteDeployment {
    pub config: DeploymentConfig,
    /// `config.display_name()`, computed once.
    pub name: String,
    pub health: Arc<DeploymentHealth>,
    /// Its capacity gate, shared across reloads; `None` when it declares no capacity.
    pub capacity: Option<Arc<CapacityGate>>,
    /// Weight sanitised for `weighted` (non-positive or non-finite counts as 0).
    pub(crate) weight: f64,
    /// USD per 1M tokens for `lowest_cost`; unknown is +∞.
    pub(crate) price: f64,
}

/// The stable key of a deployment's health: provider, upstream model and deployment name.
pub fn identity(deployment: &DeploymentConfig) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        deployment.provider,
        deployment.model,
        deployment.display_name()
    )
}

/// How one model's calls are spread over its deployments.
#[derive(Debug, Clone)]
pub struct Route {
    alias: String,
    strategy: Strategy,
    health_policy: HealthPolicy,
    deployments: Vec<RouteDeployment>,
    /// Indexes by priority ascending (unset = 0), then listed order.
    priority_order: Vec<usize>,
    /// Bits of every routable deployment.
    all: u64,
    /// Bits of the deployments with a capacity gate: zero, and routing pays nothing for it,
    /// when none declares a capacity.
    gated: u64,
    /// Whether some deployment's capacity counts tokens (tpm), so a call needs its estimate.
    counts_tokens: bool,
    rollout: Option<RolloutPlan>,
}

impl Route {
    /// `price_per_mtok` feeds `lowest_cost`; `None` means unknown, which ranks most expensive.
    pub fn new(
        alias: &str,
        model: &ModelConfig,
        registry: &HealthRegistry,
        price_per_mtok: impl Fn(&DeploymentConfig) -> Option<f64>,
    ) -> Route {
        if model.deployments.len() > MAX_DEPLOYMENTS {
            tracing::warn!(
                model = alias,
                deployments = model.deployments.len(),
                "only the first {MAX_DEPLOYMENTS} deployments are routed"
            );
        }
        let deployments: Vec<RouteDeployment> = model
            .deployments
            .iter()
            .take(MAX_DEPLOYMENTS)
            .map(|config| {
                let weight = if config.weight.is_finite() && config.weight > 0.0 {
                    config.weight
                } else {
                    0.0
                };
                let price = price_per_mtok(config)
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .unwrap_or(f64::INFINITY);
                let identity = identity(config);
                RouteDeployment {
                    name: config.display_name(),
                    health: registry.get(&identity, &model.health),
                    capacity: registry.capacity.gate(&identity, config.capacity),
                    config: config.clone(),
                    weight,
                    price,
                }
            })
            .collect();
        let mut priority_order: Vec<usize> = (0..deployments.len()).collect();
        priority_order.sort_by_key(|&i| (deployments[i].config.priority.unwrap_or(0), i));
        let all = match deployments.len() {
            MAX_DEPLOYMENTS => u64::MAX,
            n => (1u64 << n) - 1,
        };
        let gated = deployments
            .iter()
            .enumerate()
            .filter(|(_, d)| d.capacity.is_some())
            .fold(0u64, |m, (i, _)| m | (1 << i));
        let counts_tokens = deployments
            .iter()
            .any(|d| d.capacity.as_ref().is_some_and(|g| g.counts_tokens()));
        let rollout = model
            .rollout
            .as_ref()
            .and_then(|r| RolloutPlan::new(alias, r, &model.deployments));
        Route {
            alias: alias.to_owned(),
            strategy: model.strategy,
            health_policy: model.health.clone(),
            deployments,
            priority_order,
            all,
            gated,
            counts_tokens,
            rollout,
        }
    }

    pub fn alias(&self) -> &str {
        &self.alias
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    pub fn health_policy(&self) -> &HealthPolicy {
        &self.health_policy
    }

    pub fn deployments(&self) -> &[RouteDeployment] {
        &self.deployments
    }

    /// The rollout arm deployment `index` belongs to (its version label), when the model
    /// has a rollout.
    pub fn rollout_arm(&self, index: usize) -> Option<&str> {
        self.rollout.as_ref()?;
        self.deployments.get(index)?.config.version.as_deref()
    }

    /// Whether a deployment's capacity counts tokens: then calls need their token estimate.
    pub fn counts_tokens(&self) -> bool {
        self.counts_tokens
    }

    /// Picks a deployment index for one attempt. `sticky_key`: the rollout key (user/session/tenant id) if any.
    /// `tried`: indexes already tried in this call; prefer untried ones, but a retry may reuse a tried one when
    /// nothing else is available. `tokens`: the call's estimate, charged to the picked
    /// deployment's capacity. None when no deployment is available (all circuits open /
    /// cooling down / at capacity); [`Route::unavailable`] then says why.
    pub fn pick(&self, sticky_key: Option<&str>, tried: &[usize], tokens: u64) -> Option<usize> {
        self.pick_at(sticky_key, tried, tokens, Instant::now())
    }

    /// [`Route::pick`] at a given time.
    ///
    /// Candidates are narrowed in tiers, first non-empty wins: the rollout version's untried
    /// deployments, any untried, the version's tried ones, any tried. So a retry moves to
    /// another deployment before it repeats one, and availability beats stickiness.
    /// A chosen deployment without room for the call is dropped and the choice made again.
    pub fn pick_at(
        &self,
        sticky_key: Option<&str>,
        tried: &[usize],
        tokens: u64,
        now: Instant,
    ) -> Option<usize> {
        let mut ready = 0u64;
        let mut probe_due = 0u64;
        for (i, d) in self.deployments.iter().enumerate() {
            match d.health.peek(now) {
                Availability::Ready => ready |= 1 << i,
                Availability::ProbeDue => probe_due |= 1 << i,
                Availability::Unavailable => {}
            }
        }
        let tried_mask = tried
            .iter()
            .filter(|&&i| i < self.deployments.len())
            .fold(0u64, |m, &i| m | (1 << i));
        let version = self
            .rollout
            .as_ref()
            .map_or(self.all, |plan| plan.mask_for(plan.bucket(sticky_key)));
        loop {
            let available = ready | probe_due;
            if available == 0 {
                return None;
            }
            let untried = available & !tried_mask;
            let candidates = [untried & version, untried, available & version, available]
                .into_iter()
                .find(|&m| m != 0)
                .unwrap_or(available);
            let i = self.choose(candidates)?;
            let bit = 1u64 << i;
            let gate = self.deployments[i].capacity.as_deref();
            if gate.is_some_and(|g| !g.try_take(tokens)) {
                ready &= !bit;
                probe_due &= !bit;
                continue;
            }
            if ready & bit != 0 {
                return Some(i);
            }
            // A deployment due for its half-open probe: only the caller that claims the slot uses it.
            if self.deployments[i].health.try_claim_probe(now) {
                return Some(i);
            }
            if let Some(gate) = gate {
                gate.undo(tokens);
            }
            probe_due &= !bit;
        }
    }

    fn choose(&self, mask: u64) -> Option<usize> {
        match self.strategy {
            Strategy::Weighted => strategy::weighted(&self.deployments, mask),
            Strategy::LowestLatency => strategy::lowest_latency(&self.deployments, mask),
            Strategy::LeastInflight => strategy::least_inflight(&self.deployments, mask),
            Strategy::LowestCost => strategy::lowest_cost(&self.deployments, mask),
            Strategy::Priority => strategy::priority(&self.priority_order, mask),
        }
    }

    /// Gives back the capacity a pick of `index` took, when the caller does not use it.
    pub fn release(&self, index: usize, tokens: u64) {
        if let Some(gate) = self
            .deployments
            .get(index)
            .and_then(|d| d.capacity.as_ref())
        {
            gate.undo(tokens);
        }
    }

    /// When the earliest cooldown or full capacity (for a call of `tokens`) of a deployment
    /// with a closed circuit ends, so the caller can wait or fail fast. At or before now when
    /// some deployment is available; None when none has a closed circuit (or there are none).
    ///
    /// An open circuit is not waited for: its open period is the breaker's guess, not a wait
    /// the upstream asked for, and the fallback is the better bet. (A call whose own failure
    /// opened the circuit used to sleep out `open_secs`, 30 s by default, then probe.)
    pub fn next_available_at(&self, tokens: u64) -> Option<Instant> {
        let now = Instant::now();
        self.deployments
            .iter()
            .filter(|d| d.health.circuit() == CircuitState::Closed)
            .filter_map(|d| {
                let at = d.health.available_at()?;
                Some(at.max(now + capacity_wait(d, tokens)))
            })
            .min()
    }

    /// Why [`Route::pick`] found nothing. When every deployment that health would let
    /// through is at its capacity, `RateLimited` with the time until the first has room
    /// (so fallbacks go by the `rate_limited` list); otherwise `Unavailable`.
    pub fn unavailable(&self, tokens: u64) -> Error {
        let now = Instant::now();
        let mut healthy = self
            .deployments
            .iter()
            .filter(|d| d.health.peek(now) != Availability::Unavailable)
            .peekable();
        if self.gated != 0 && healthy.peek().is_some() {
            let waits = healthy.map(|d| capacity_wait(d, tokens));
            if let Some(wait) = waits.min().filter(|w| !w.is_zero()) {
                return Error::new(
                    ErrorKind::RateLimited {
                        retry_after: Some(wait),
                    },
                    format!("every deployment of '{}' is at its capacity", self.alias),
                );
            }
        }
        Error::new(
            ErrorKind::Unavailable,
            format!("no deployment of '{}' is available", self.alias),
        )
    }
}

/// How long until `d` has room for a call of `tokens` (zero without a capacity).
fn capacity_wait(d: &RouteDeployment, tokens: u64) -> Duration {
    d.capacity
        .as_ref()
        .map_or(Duration::ZERO, |g| g.wait(tokens))
}

#[cfg(test)]
mod tests;
