//! `Route::pick` over 4 deployments, per strategy, with and without a sticky rollout.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::config::{DeploymentConfig, ModelConfig, Rollout, StickyKey, Strategy};
use switchyard::routing::{HealthRegistry, Route};

const STRATEGIES: [(&str, Strategy); 5] = [
    ("weighted", Strategy::Weighted),
    ("lowest_latency", Strategy::LowestLatency),
    ("least_inflight", Strategy::LeastInflight),
    ("lowest_cost", Strategy::LowestCost),
    ("priority", Strategy::Priority),
];

fn model(strategy: Strategy, rollout: bool) -> ModelConfig {
    let deployments = (0..4)
        .map(|i| {
            let mut d = DeploymentConfig::new(format!("provider-{i}"), "gpt-x");
            d.weight = f64::from(i + 1);
            d.priority = Some(i % 2);
            d.version = Some(if i < 2 { "stable" } else { "canary" }.to_owned());
            d
        })
        .collect();
    let mut m = ModelConfig::new(deployments);
    m.strategy = strategy;
    if rollout {
        m.rollout = Some(Rollout {
            sticky_by: StickyKey::User,
            split: BTreeMap::from([("stable".to_owned(), 90.0), ("canary".to_owned(), 10.0)]),
        });
    }
    m
}

fn bench_pick(c: &mut Criterion) {
    let registry = HealthRegistry::new();
    let mut group = c.benchmark_group("pick");
    for rollout in [false, true] {
        for (name, strategy) in STRATEGIES {
            let route = Route::new("chat", &model(strategy, rollout), &registry, |d| {
                Some(d.weight * 2.0)
            });
            for (i, d) in route.deployments().iter().enumerate() {
                d.health
                    .record_success(Duration::from_millis(100 * (i as u64 + 1)));
            }
            let id = if rollout {
                format!("{name}+rollout")
            } else {
                name.to_owned()
            };
            group.bench_function(id, |b| {
                b.iter(|| route.pick(black_box(Some("user-1234")), black_box(&[]), 0))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_pick);
criterion_main!(benches);
