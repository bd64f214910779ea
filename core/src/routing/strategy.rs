//! The five ways a route chooses among candidate deployments.
//!
//! Candidates come as a bitmask over the route's deployment indexes, so a decision allocates
//! nothing; each function returns one set bit of the mask (or None when it is empty).

use std::cell::Cell;

use super::RouteDeployment;

/// Share of `lowest_latency` decisions that go to a random other candidate, so a deployment
/// that was slow once gets re-measured instead of starving forever.
pub(crate) const EXPLORE_RATE: f64 = 0.05;

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // Any non-zero value works for xorshift; mixing in rand's entropy keeps threads apart.
    rand::random::<u64>() | 1
}

/// A xorshift64* step from a thread-local state: a routing decision must stay far below 1 µs.
pub(crate) fn next_u64() -> u64 {
    RNG.with(|cell| {
        let mut x = cell.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        cell.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// Uniform in [0, 1).
pub(crate) fn next_f64() -> f64 {
    (next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in [0, n); n must be > 0.
pub(crate) fn below(n: u32) -> u32 {
    (((next_u64() >> 32) * u64::from(n)) >> 32) as u32
}

/// Iterates the set bits of a mask, lowest first.
pub(crate) fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let i = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        Some(i)
    })
}

/// A uniformly random set bit.
pub(crate) fn random_of(mask: u64) -> Option<usize> {
    let count = mask.count_ones();
    if count == 0 {
        return None;
    }
    bits(mask).nth(below(count) as usize)
}

/// Random in proportion to weight.
pub(crate) fn weighted(deployments: &[RouteDeployment], mask: u64) -> Option<usize> {
    let total: f64 = bits(mask).map(|i| deployments[i].weight).sum();
    if !(total > 0.0 && total.is_finite()) {
        return random_of(mask);
    }
    let mut point = next_f64() * total;
    let mut last = None;
    for i in bits(mask) {
        let w = deployments[i].weight;
        if w > 0.0 {
            if point < w {
                return Some(i);
            }
            point -= w;
            last = Some(i);
        }
    }
    // Rounding can leave `point` a hair above the sum: the last weighted one takes it.
    last
}

/// Lowest latency average; unmeasured deployments first (so they get measured), and a small
/// share of random picks among the others.
pub(crate) fn lowest_latency(deployments: &[RouteDeployment], mask: u64) -> Option<usize> {
    let unmeasured = bits(mask).fold(0u64, |m, i| {
        if deployments[i].health.latency_ns().is_none() {
            m | (1 << i)
        } else {
            m
        }
    });
    if unmeasured != 0 {
        return random_of(unmeasured);
    }
    let best = bits(mask)
        .filter_map(|i| deployments[i].health.latency_ns().map(|l| (i, l)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)?;
    let others = mask & !(1 << best);
    if others != 0 && next_f64() < EXPLORE_RATE {
        return random_of(others);
    }
    Some(best)
}

/// Fewest calls in flight; ties broken at random so equal deployments share the load.
pub(crate) fn least_inflight(deployments: &[RouteDeployment], mask: u64) -> Option<usize> {
    let mut best = u32::MAX;
    let mut ties = 0u64;
    for i in bits(mask) {
        let n = deployments[i].health.inflight();
        if n < best {
            best = n;
            ties = 1 << i;
        } else if n == best {
            ties |= 1 << i;
        }
    }
    random_of(ties)
}

/// Cheapest known price (unknown counts as most expensive); ties go to the higher weight, then
/// the one listed first.
pub(crate) fn lowest_cost(deployments: &[RouteDeployment], mask: u64) -> Option<usize> {
    bits(mask).min_by(|&a, &b| {
        let (da, db) = (&deployments[a], &deployments[b]);
        da.price
            .total_cmp(&db.price)
            .then(db.weight.total_cmp(&da.weight))
            .then(a.cmp(&b))
    })
}

/// First candidate in priority order (`order` is precomputed: priority ascending, then listed).
pub(crate) fn priority(order: &[usize], mask: u64) -> Option<usize> {
    order.iter().copied().find(|&i| mask & (1 << i) != 0)
}
