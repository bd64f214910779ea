//! Active health probes: while a circuit is open, a cheap call every `probe_interval_secs`
//! can bring the deployment back sooner than waiting for the half-open probe of real traffic.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::{CircuitState, Route, RouteDeployment};
use crate::error::Error;

/// Sends one cheap request to a deployment (the client sends a 1-token completion).
#[async_trait]
pub trait Prober: Send + Sync {
    async fn probe(&self, deployment: &RouteDeployment) -> Result<(), Error>;
}

/// Keeps the probe task alive; dropping it stops the task at its next wake-up.
#[derive(Debug)]
pub struct ProbeTask {
    _stop: watch::Sender<()>,
}

/// Spawns the probe loop for `route`. None when the route's policy sets no probe interval, or
/// when called outside a tokio runtime (nothing to spawn on; logged). The task also ends when
/// the route itself is dropped, e.g. replaced by a reload.
pub fn spawn_prober(route: &Arc<Route>, prober: Arc<dyn Prober>) -> Option<ProbeTask> {
    let secs = route.health_policy().probe_interval_secs?;
    let interval = Duration::from_secs(secs.max(1));
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            model = route.alias(),
            "no tokio runtime: active health probes disabled"
        );
        return None;
    };
    let (stop, mut stopped) = watch::channel(());
    let route = Arc::downgrade(route);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                // Err: the ProbeTask was dropped.
                _ = stopped.changed() => return,
                _ = ticks.tick() => {}
            }
            if !probe_open(&route, prober.as_ref()).await {
                return;
            }
        }
    });
    Some(ProbeTask { _stop: stop })
}

/// Probes every deployment whose circuit is not closed; false when the route is gone.
async fn probe_open(route: &Weak<Route>, prober: &dyn Prober) -> bool {
    let Some(route) = route.upgrade() else {
        return false;
    };
    for deployment in route.deployments() {
        if deployment.health.circuit() == CircuitState::Closed {
            continue;
        }
        match prober.probe(deployment).await {
            Ok(()) => deployment.health.close(),
            Err(error) => {
                tracing::debug!(deployment = %deployment.name, error = %error, "active probe failed")
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    use super::*;
    use crate::config::{DeploymentConfig, HealthPolicy, ModelConfig};
    use crate::routing::HealthRegistry;

    struct FakeProber {
        healthy: AtomicBool,
        calls: AtomicU32,
    }

    #[async_trait]
    impl Prober for FakeProber {
        async fn probe(&self, _deployment: &RouteDeployment) -> Result<(), Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.healthy.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err(Error::network("still down"))
            }
        }
    }

    fn route(registry: &HealthRegistry, probe_interval_secs: Option<u64>) -> Arc<Route> {
        let mut model = ModelConfig::new(vec![
            DeploymentConfig::new("a", "m"),
            DeploymentConfig::new("b", "m"),
        ]);
        model.health = HealthPolicy {
            consecutive_failures: 1,
            open_secs: 3_600,
            probe_interval_secs,
            ..HealthPolicy::default()
        };
        Arc::new(Route::new("chat", &model, registry, |_| None))
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn probe_closes_open_circuits_only_when_it_succeeds() {
        let registry = HealthRegistry::new();
        let route = route(&registry, Some(5));
        let prober = Arc::new(FakeProber {
            healthy: AtomicBool::new(false),
            calls: AtomicU32::new(0),
        });
        let task = spawn_prober(&route, prober.clone()).unwrap();
        route.deployments()[0]
            .health
            .record_failure(&Error::network("down"));
        assert_eq!(route.deployments()[0].health.circuit(), CircuitState::Open);

        tokio::time::sleep(Duration::from_millis(5_100)).await;
        settle().await;
        // Only the open deployment is probed, and a failed probe leaves it open.
        assert_eq!(prober.calls.load(Ordering::SeqCst), 1);
        assert_eq!(route.deployments()[0].health.circuit(), CircuitState::Open);

        prober.healthy.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(5)).await;
        settle().await;
        assert_eq!(prober.calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            route.deployments()[0].health.circuit(),
            CircuitState::Closed
        );
        assert_eq!(route.pick(None, &[1], 0), Some(0));

        // Dropping the handle stops the task.
        route.deployments()[0]
            .health
            .record_failure(&Error::network("down again"));
        drop(task);
        tokio::time::sleep(Duration::from_secs(20)).await;
        settle().await;
        assert_eq!(prober.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn no_interval_no_task() {
        let registry = HealthRegistry::new();
        let route = route(&registry, None);
        let prober = Arc::new(FakeProber {
            healthy: AtomicBool::new(true),
            calls: AtomicU32::new(0),
        });
        assert!(spawn_prober(&route, prober).is_none());
    }

    #[test]
    fn outside_a_runtime_is_none_not_a_panic() {
        let registry = HealthRegistry::new();
        let route = route(&registry, Some(1));
        let prober = Arc::new(FakeProber {
            healthy: AtomicBool::new(true),
            calls: AtomicU32::new(0),
        });
        assert!(spawn_prober(&route, prober).is_none());
    }
}
