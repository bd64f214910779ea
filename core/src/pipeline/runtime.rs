//! Everything derived from one config version: providers, routes, budgets, limits. A
//! reload builds a new one and swaps it in whole; calls in flight keep the one they began
//! with.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::budget::{BudgetSource, Budgets, RateLimits};
use crate::config::{Config, ModelConfig, Price, ProviderKind};
use crate::error::{Error, Result};
use crate::guardrails::Guardrails;
use crate::lease::LeaseBook;
use crate::pricing;
use crate::providers::{self, Provider};
use crate::routing::{HealthRegistry, ProbeTask, Route, spawn_prober};
use crate::shared::SharedLimits;
use crate::types::Usage;

use super::probe::ClientProber;

pub(crate) struct Runtime {
    pub config: Arc<Config>,
    pub routes: HashMap<String, Arc<ModelRoute>>,
    pub budgets: Budgets,
    pub limits: RateLimits,
    /// The server's budgets and limits leased to this instance, when it leases.
    pub lease: Option<Arc<LeaseBook>>,
    /// The config's local model (the first whose first deployment is in-process): where
    /// a lease's `local` policy sends calls.
    pub local_model: Option<String>,
    /// Some deployment's capacity counts tokens (tpm): every call is then estimated at
    /// admission, since a fallback may land on that deployment.
    pub capacity_counts_tokens: bool,
    /// The guardrails this client's calls obey (the config's, cut for its app).
    pub guardrails: Option<Arc<Guardrails>>,
    /// Background health probes of this config's routes; they stop when it is replaced.
    _probes: Vec<ProbeTask>,
}

/// One logical model, ready to route: its policy, its routing state and, per deployment,
/// the adapter, the price and the provider kind.
pub(crate) struct ModelRoute {
    pub alias: String,
    pub config: ModelConfig,
    pub route: Arc<Route>,
    pub targets: Vec<DeploymentTarget>,
}

pub(crate) struct DeploymentTarget {
    pub name: Arc<str>,
    pub upstream_model: Arc<str>,
    pub provider: Arc<dyn Provider>,
    pub kind: ProviderKind,
    pub price: Option<Price>,
}

impl Runtime {
    pub fn build(
        config: Config,
        health: &HealthRegistry,
        budget_source: Arc<dyn BudgetSource>,
        lease: Option<Arc<LeaseBook>>,
        shared_limits: Option<Arc<SharedLimits>>,
    ) -> Result<Runtime> {
        let issues = config.validate();
        if !issues.is_empty() {
            return Err(crate::config::ConfigError::new(issues).into());
        }
        let providers: HashMap<&str, Arc<dyn Provider>> = config
            .providers
            .iter()
            .map(|(name, provider)| Ok((name.as_str(), providers::build(name, provider)?)))
            .collect::<Result<_>>()?;
        let mut routes = HashMap::new();
        let mut probes = Vec::new();
        for (alias, model) in &config.models {
            let mut targets = Vec::with_capacity(model.deployments.len());
            for deployment in &model.deployments {
                let provider = providers
                    .get(deployment.provider.as_str())
                    .cloned()
                    .ok_or_else(|| {
                        Error::bad_request(
                            "model",
                            format!("unknown provider '{}'", deployment.provider),
                        )
                    })?;
                let kind = provider.kind();
                targets.push(DeploymentTarget {
                    name: deployment.display_name().into(),
                    upstream_model: deployment.model.as_str().into(),
                    provider,
                    kind,
                    price: pricing::price_for(deployment, kind),
                });
            }
            let price_per_mtok = |d: &crate::config::DeploymentConfig| {
                let kind = config.providers.get(&d.provider).map(|p| p.kind)?;
                pricing::price_for(d, kind).map(|p| p.input + p.output)
            };
            let route = Arc::new(Route::new(alias, model, health, price_per_mtok));
            if model.health.probe_interval_secs.is_some() {
                let prober = ClientProber {
                    providers: providers
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect(),
                    kind: model.kind,
                };
                probes.extend(spawn_prober(&route, Arc::new(prober)));
            }
            routes.insert(
                alias.clone(),
                Arc::new(ModelRoute {
                    alias: alias.clone(),
                    config: model.clone(),
                    route,
                    targets,
                }),
            );
        }
        let capacity_counts_tokens = routes.values().any(|r| r.route.counts_tokens());
        // The tokenizer tables cost ~70 MB of memory for the life of the process: loaded
        // ahead only when this config counts tokens exactly on every call (a TPM limit or
        // capacity). A hard budget counts exactly only when the cheap bound does not fit
        // what is left, so it loads the one encoding it needs then (~100 ms, once): most
        // processes with a budget never get that close, and a gateway serving many apps
        // would otherwise hold the tables for a budget that is nowhere near its end.
        if capacity_counts_tokens || config.rate_limits.iter().any(|limit| limit.tpm.is_some()) {
            crate::estimate::warm_up_in_background();
        }
        let mut local_models: Vec<&String> = routes
            .iter()
            .filter(|(_, r)| r.targets.first().is_some_and(DeploymentTarget::is_local))
            .map(|(alias, _)| alias)
            .collect();
        local_models.sort();
        let local_model = local_models.first().map(|alias| (*alias).clone());
        let mut budgets = Budgets::new(&config.budgets, budget_source);
        if let Some(book) = &lease {
            budgets = budgets.with_lease(Arc::clone(book), local_model.clone());
        }
        let guardrails = Guardrails::build(
            &config
                .guardrails
                .resolve(&[], config.identity.app.as_deref()),
        )?
        .map(Arc::new);
        Ok(Runtime {
            capacity_counts_tokens,
            guardrails,
            budgets,
            lease,
            local_model,
            limits: RateLimits::new(&config.rate_limits).with_shared(shared_limits),
            _probes: probes,
            routes,
            config: Arc::new(config),
        })
    }

    /// Step 1: the logical model a caller named, or a fallback or reroute moves to; a
    /// model off the guardrails' allow-list is refused, whoever names it.
    pub fn route(&self, alias: &str) -> Result<&Arc<ModelRoute>> {
        if let Some(guard) = &self.guardrails {
            guard.check_model(alias)?;
        }
        self.routes
            .get(alias)
            .ok_or_else(|| Error::bad_request("model", format!("unknown model '{alias}'")))
    }
}

impl Runtime {
    /// Whether a call may move to `alias` (the guardrails' allow-list).
    pub fn allows(&self, alias: &str) -> bool {
        self.guardrails.as_ref().is_none_or(|g| g.allows(alias))
    }
}

impl ModelRoute {
    pub fn attempt_timeout(&self) -> Option<Duration> {
        self.config.timeout_ms.map(Duration::from_millis)
    }

    /// The highest price among the deployments: what a reservation must assume, since any
    /// of them may answer. `None` when no deployment has a known price.
    pub fn worst_price(&self) -> Option<Price> {
        self.targets
            .iter()
            .filter_map(|t| t.price)
            .max_by(|a, b| (a.input + a.output).total_cmp(&(b.input + b.output)))
    }
}

impl DeploymentTarget {
    /// What `usage` costs at this deployment's price (0 when the price is unknown).
    pub fn cost_usd(&self, usage: &Usage) -> f64 {
        self.price
            .map_or(0.0, |price| pricing::cost_usd(&price, usage))
    }

    /// An in-process model.
    pub fn is_local(&self) -> bool {
        self.kind == ProviderKind::Local
    }
}
