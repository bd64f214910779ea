//! Route-level tests: strategies, availability, `tried`, rollouts, reloads.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::config::{Rollout, StickyKey};
use crate::error::{Error, ErrorKind};

const N: usize = 10_000;

fn deployment(name: &str) -> DeploymentConfig {
    let mut d = DeploymentConfig::new("prov", format!("model-{name}"));
    d.name = Some(name.to_owned());
    d
}

fn model(strategy: Strategy, deployments: Vec<DeploymentConfig>) -> ModelConfig {
    let mut m = ModelConfig::new(deployments);
    m.strategy = strategy;
    m.health = HealthPolicy {
        consecutive_failures: 1,
        open_secs: 3_600,
        ..HealthPolicy::default()
    };
    m
}

fn route(m: &ModelConfig) -> (Route, HealthRegistry) {
    let registry = HealthRegistry::new();
    (Route::new("chat", m, &registry, |_| None), registry)
}

fn counts(route: &Route, picks: usize, key: Option<&str>, tried: &[usize]) -> Vec<usize> {
    let mut counts = vec![0; route.deployments().len()];
    for _ in 0..picks {
        counts[route.pick(key, tried, 0).unwrap()] += 1;
    }
    counts
}

fn break_circuit(route: &Route, i: usize) {
    route.deployments()[i]
        .health
        .record_failure(&Error::new(ErrorKind::Upstream { status: 500 }, "down"));
    assert_eq!(route.deployments()[i].health.circuit(), CircuitState::Open);
}

#[test]
fn weighted_follows_weights() {
    let ds = [1.0, 2.0, 7.0]
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut d = deployment(&format!("d{i}"));
            d.weight = *w;
            d
        })
        .collect();
    let (route, _r) = route(&model(Strategy::Weighted, ds));
    let c = counts(&route, N, None, &[]);
    for (count, want) in c.iter().zip([0.1, 0.2, 0.7]) {
        let share = *count as f64 / N as f64;
        assert!((share - want).abs() < 0.025, "{c:?}");
    }
}

#[test]
fn weighted_skips_unavailable() {
    let ds = vec![deployment("a"), deployment("b"), deployment("c")];
    let (route, _r) = route(&model(Strategy::Weighted, ds));
    break_circuit(&route, 1);
    let c = counts(&route, 2_000, None, &[]);
    assert_eq!(c[1], 0);
    assert!(c[0] > 800 && c[2] > 800, "{c:?}");
}

#[test]
fn priority_order_then_listed_and_skip_unavailable() {
    let mut a = deployment("a");
    a.priority = Some(2);
    let b = deployment("b"); // unset = 0
    let mut c = deployment("c");
    c.priority = Some(-1);
    let d = deployment("d"); // 0, listed after b
    let (route, _r) = route(&model(Strategy::Priority, vec![a, b, c, d]));
    assert_eq!(route.pick(None, &[], 0), Some(2));
    break_circuit(&route, 2);
    assert_eq!(route.pick(None, &[], 0), Some(1));
    assert_eq!(route.pick(None, &[1], 0), Some(3), "tried skipped");
    route.deployments()[1].health.record_failure(&Error::new(
        ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
        },
        "429",
    ));
    assert_eq!(route.pick(None, &[], 0), Some(3));
    break_circuit(&route, 3);
    assert_eq!(route.pick(None, &[], 0), Some(0));
    break_circuit(&route, 0);
    assert_eq!(route.pick(None, &[], 0), None);
    let next = route.next_available_at(0).unwrap();
    assert!(next > Instant::now() + Duration::from_secs(50));
    assert!(next < Instant::now() + Duration::from_secs(61));
}

#[test]
fn least_inflight_with_guards_held() {
    let ds = vec![deployment("a"), deployment("b"), deployment("c")];
    let (route, _r) = route(&model(Strategy::LeastInflight, ds));
    let d = route.deployments();
    let _g = [
        d[0].health.begin(),
        d[0].health.begin(),
        d[1].health.begin(),
    ];
    assert_eq!(counts(&route, 200, None, &[]), vec![0, 0, 200]);
    let _g2 = d[2].health.begin();
    // b and c tie at 1: both get picks.
    let c = counts(&route, 1_000, None, &[]);
    assert_eq!(c[0], 0);
    assert!(c[1] > 350 && c[2] > 350, "{c:?}");
    drop(_g);
    let c = counts(&route, 1_000, None, &[]);
    assert_eq!(c[2], 0, "{c:?}");
    assert!(c[0] > 350 && c[1] > 350, "{c:?}");
}

#[test]
fn lowest_latency_prefers_fast_measures_unmeasured_and_explores() {
    let ds = vec![deployment("slow"), deployment("fast"), deployment("new")];
    let (route, _r) = route(&model(Strategy::LowestLatency, ds));
    let d = route.deployments();
    d[0].health.record_success(Duration::from_millis(800));
    d[1].health.record_success(Duration::from_millis(100));
    // "new" has no measurement yet: it is picked so it gets one.
    assert_eq!(route.pick(None, &[], 0), Some(2));
    d[2].health.record_success(Duration::from_millis(400));
    let c = counts(&route, N, None, &[]);
    let explored = c[0] + c[2];
    assert!(c[1] > N * 90 / 100, "{c:?}");
    assert!(explored > N * 2 / 100 && explored < N * 8 / 100, "{c:?}");
    assert!(c[0] > 0 && c[2] > 0, "{c:?}");
    // The averages move: "fast" gets slow and loses its place.
    for _ in 0..30 {
        d[1].health.record_success(Duration::from_secs(2));
    }
    let c = counts(&route, 1_000, None, &[]);
    assert!(c[2] > 900, "{c:?}");
}

#[test]
fn lowest_cost_cheapest_then_weight_then_order_unknown_last() {
    let mut ds: Vec<_> = [
        "unknown",
        "pricey",
        "cheap-light",
        "cheap-heavy",
        "cheap-heavy2",
    ]
    .iter()
    .map(|n| deployment(n))
    .collect();
    ds[3].weight = 5.0;
    ds[4].weight = 5.0;
    let m = model(Strategy::LowestCost, ds);
    let registry = HealthRegistry::new();
    let route = Route::new("chat", &m, &registry, |d| match d.name.as_deref() {
        Some("pricey") => Some(10.0),
        Some("unknown") => None,
        _ => Some(1.0),
    });
    assert_eq!(route.pick(None, &[], 0), Some(3));
    assert_eq!(route.pick(None, &[3], 0), Some(4));
    assert_eq!(route.pick(None, &[3, 4], 0), Some(2));
    assert_eq!(route.pick(None, &[2, 3, 4], 0), Some(1));
    assert_eq!(route.pick(None, &[1, 2, 3, 4], 0), Some(0));
    // Everything tried: reuse the best tried one rather than give up.
    assert_eq!(route.pick(None, &[0, 1, 2, 3, 4], 0), Some(3));
}

#[test]
fn tried_avoided_until_nothing_else_is_available() {
    let ds = vec![deployment("a"), deployment("b"), deployment("c")];
    let (route, _r) = route(&model(Strategy::Weighted, ds));
    assert_eq!(counts(&route, 500, None, &[0, 2]), vec![0, 500, 0]);
    break_circuit(&route, 1);
    let c = counts(&route, 500, None, &[0, 2]);
    assert_eq!(c[1], 0);
    assert!(c[0] > 150 && c[2] > 150, "{c:?}");
    // Out-of-range indexes are ignored, not a panic.
    assert!(route.pick(None, &[99, usize::MAX], 0).is_some());
}

#[test]
fn half_open_probe_goes_to_one_pick_only() {
    let ds = vec![deployment("primary"), deployment("backup")];
    let mut m = model(Strategy::Priority, ds);
    m.health.open_secs = 0;
    let (route, _r) = route(&m);
    break_circuit(&route, 0);
    let now = Instant::now() + Duration::from_millis(1);
    // The first pick after the open period claims the probe; the next ones go to the backup.
    assert_eq!(route.pick_at(None, &[], 0, now), Some(0));
    assert_eq!(
        route.deployments()[0].health.circuit(),
        CircuitState::HalfOpen
    );
    route.deployments()[0]
        .health
        .record_success(Duration::from_millis(5));
    assert_eq!(route.pick_at(None, &[], 0, now), Some(0));

    let (route, _r) = self::route(&model(
        Strategy::Priority,
        vec![deployment("p"), deployment("b")],
    ));
    break_circuit(&route, 0);
    let due = Instant::now() + Duration::from_secs(3_601);
    assert_eq!(route.pick_at(None, &[], 0, due), Some(0));
    assert_eq!(route.pick_at(None, &[], 0, due), Some(1));
    assert_eq!(route.pick_at(None, &[], 0, due), Some(1));
}

fn rollout_route(split: &[(&str, f64)]) -> (Route, HealthRegistry) {
    let mut ds = Vec::new();
    for (v, _) in split {
        for n in 0..2 {
            let mut d = deployment(&format!("{v}-{n}"));
            d.version = Some((*v).to_owned());
            ds.push(d);
        }
    }
    let mut m = model(Strategy::Weighted, ds);
    m.rollout = Some(Rollout {
        sticky_by: StickyKey::User,
        split: split
            .iter()
            .map(|(v, p)| ((*v).to_owned(), *p))
            .collect::<BTreeMap<_, _>>(),
    });
    route(&m)
}

fn version_of(route: &Route, i: usize) -> &str {
    route.deployments()[i]
        .config
        .version
        .as_deref()
        .unwrap_or("")
}

#[test]
fn rollout_split_within_two_percent_over_10k_keys() {
    let (route, _r) = rollout_route(&[("stable", 90.0), ("canary", 10.0)]);
    let canary = (0..N)
        .filter(|k| {
            let i = route.pick(Some(&format!("user-{k}")), &[], 0).unwrap();
            version_of(&route, i) == "canary"
        })
        .count();
    let share = canary as f64 / N as f64;
    assert!((share - 0.10).abs() <= 0.02, "{share}");
    // Without a key each call draws a random bucket: same split on average.
    let canary = (0..N)
        .filter(|_| version_of(&route, route.pick(None, &[], 0).unwrap()) == "canary")
        .count();
    assert!((canary as f64 / N as f64 - 0.10).abs() <= 0.02);
}

#[test]
fn rollout_is_sticky_and_availability_beats_it() {
    let (route, _r) = rollout_route(&[("v1", 50.0), ("v2", 50.0)]);
    for k in 0..200 {
        let key = format!("tenant-{k}");
        let first = version_of(&route, route.pick(Some(&key), &[], 0).unwrap()).to_owned();
        for _ in 0..20 {
            assert_eq!(
                version_of(&route, route.pick(Some(&key), &[], 0).unwrap()),
                first
            );
        }
    }
    // Find a key on v1, then take v1's deployments down: the key falls back to v2.
    let key = (0..)
        .map(|k| format!("u{k}"))
        .find(|k| version_of(&route, route.pick(Some(k), &[], 0).unwrap()) == "v1")
        .unwrap();
    // A retry stays on the version while the version has an untried deployment.
    let first = route.pick(Some(&key), &[], 0).unwrap();
    let second = route.pick(Some(&key), &[first], 0).unwrap();
    assert_ne!(first, second);
    assert_eq!(version_of(&route, second), "v1");
    break_circuit(&route, 0);
    break_circuit(&route, 1);
    for _ in 0..50 {
        assert_eq!(
            version_of(&route, route.pick(Some(&key), &[], 0).unwrap()),
            "v2"
        );
    }
}

#[test]
fn registry_keeps_health_across_rebuild() {
    let registry = HealthRegistry::new();
    let m = model(Strategy::Priority, vec![deployment("a"), deployment("b")]);
    let old = Route::new("chat", &m, &registry, |_| None);
    break_circuit(&old, 0);
    old.deployments()[1]
        .health
        .record_success(Duration::from_millis(42));

    // Reload: a new deployment in front, "a" and "b" kept (reordered), policy changed.
    let mut m2 = model(
        Strategy::Priority,
        vec![deployment("new"), deployment("b"), deployment("a")],
    );
    m2.health.cooldown_ms = 5;
    let new = Route::new("chat", &m2, &registry, |_| None);
    drop(old);
    let d = new.deployments();
    assert_eq!(d[2].health.circuit(), CircuitState::Open);
    assert_eq!(d[1].health.latency_ewma(), Some(Duration::from_millis(42)));
    assert_eq!(d[0].health.circuit(), CircuitState::Closed);
    assert_eq!(registry.len(), 3);
    // A deployment renamed is a different deployment: fresh health.
    let mut renamed = deployment("a");
    renamed.name = Some("a2".into());
    let m3 = model(Strategy::Priority, vec![renamed]);
    let third = Route::new("chat", &m3, &registry, |_| None);
    assert_eq!(
        third.deployments()[0].health.circuit(),
        CircuitState::Closed
    );
}

#[test]
fn empty_and_oversized_routes_do_not_panic() {
    let (route, _r) = route(&model(Strategy::LowestLatency, vec![]));
    assert_eq!(route.pick(Some("k"), &[0], 0), None);
    assert_eq!(route.next_available_at(0), None);
    let ds = (0..70).map(|i| deployment(&format!("d{i}"))).collect();
    let (route, _r) = self::route(&model(Strategy::LeastInflight, ds));
    assert_eq!(route.deployments().len(), MAX_DEPLOYMENTS);
    let tried: Vec<usize> = (0..63).collect();
    assert_eq!(route.pick(None, &tried, 0), Some(63));
}

fn with_capacity(name: &str, rpm: Option<u32>, tpm: Option<u64>) -> DeploymentConfig {
    let mut d = deployment(name);
    d.capacity = Some(crate::config::Capacity { rpm, tpm });
    d
}

#[test]
fn a_deployment_at_capacity_is_skipped() {
    // rpm 1: a burst of one request, the next a minute later.
    let m = model(
        Strategy::Priority,
        vec![with_capacity("a", Some(1), None), deployment("b")],
    );
    let (route, _r) = route(&m);
    assert!(!route.counts_tokens());
    assert_eq!(route.pick(None, &[], 0), Some(0));
    assert_eq!(route.pick(None, &[], 0), Some(1));
    assert_eq!(route.pick(None, &[], 0), Some(1));
    // A pick given back leaves the room it took.
    route.release(0, 0);
    assert_eq!(route.pick(None, &[], 0), Some(0));
    route.release(1, 0);
    route.release(99, 0);
    // A deployment without capacity is never refused for it.
    assert!((0..100).all(|_| route.pick(None, &[], u64::MAX) == Some(1)));
}

#[test]
fn all_at_capacity_is_rate_limited_until_the_first_has_room() {
    let m = model(
        Strategy::Weighted,
        vec![
            with_capacity("a", Some(1), None),
            with_capacity("b", Some(2), None),
        ],
    );
    let (route, _r) = route(&m);
    assert!(route.pick(None, &[], 0).is_some());
    assert!(route.pick(None, &[], 0).is_some());
    assert_eq!(route.pick(None, &[], 0), None);
    let error = route.unavailable(0);
    assert_eq!(error.code(), "rate_limited");
    // "b" (rpm 2) refills first: in 30 s.
    let after = error.retry_after().unwrap();
    assert!(
        after <= Duration::from_secs(30) && after > Duration::from_secs(29),
        "{after:?}"
    );
    let next = route.next_available_at(0).unwrap();
    assert!(next > Instant::now() + Duration::from_secs(29));
}

#[test]
fn unavailable_without_capacity_stays_unavailable() {
    let m = model(
        Strategy::Priority,
        vec![with_capacity("a", Some(60), None), deployment("b")],
    );
    let (route, _r) = route(&m);
    break_circuit(&route, 0);
    break_circuit(&route, 1);
    assert_eq!(route.pick(None, &[], 0), None);
    assert_eq!(route.unavailable(0).code(), "unavailable");
}

#[test]
fn token_capacity_counts_the_call_estimate() {
    // tpm 1000: a burst of 100 tokens.
    let m = model(
        Strategy::Priority,
        vec![with_capacity("a", None, Some(1_000)), deployment("b")],
    );
    let (route, _r) = route(&m);
    assert!(route.counts_tokens());
    assert_eq!(route.pick(None, &[], 80), Some(0));
    assert_eq!(route.pick(None, &[], 80), Some(1), "20 tokens left");
    assert_eq!(route.pick(None, &[], 20), Some(0));
}

#[test]
fn capacity_survives_a_reload_that_keeps_it() {
    let registry = HealthRegistry::new();
    let m = model(
        Strategy::Priority,
        vec![with_capacity("a", Some(1), None), deployment("b")],
    );
    let old = Route::new("chat", &m, &registry, |_| None);
    assert_eq!(old.pick(None, &[], 0), Some(0));
    let same = Route::new("chat", &m, &registry, |_| None);
    drop(old);
    assert_eq!(same.pick(None, &[], 0), Some(1), "the bucket was kept");
    // A new capacity starts a fresh bucket.
    let m2 = model(
        Strategy::Priority,
        vec![with_capacity("a", Some(2), None), deployment("b")],
    );
    let changed = Route::new("chat", &m2, &registry, |_| None);
    assert_eq!(changed.pick(None, &[], 0), Some(0));
}

#[test]
fn a_probe_due_deployment_at_capacity_is_skipped() {
    let mut m = model(Strategy::Priority, vec![with_capacity("a", Some(1), None)]);
    m.health.open_secs = 0;
    let (route, _r) = route(&m);
    break_circuit(&route, 0);
    let due = Instant::now() + Duration::from_millis(1);
    // The first caller takes the one request of capacity and claims the probe; the slot
    // is due again at once (open_secs 0), but the capacity is spent.
    assert_eq!(route.pick_at(None, &[], 0, due), Some(0));
    assert_eq!(route.pick_at(None, &[], 0, due), None);
}
