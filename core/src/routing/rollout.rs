//! Sticky percentage splits between version labels.
//!
//! A key (user, session or tenant id) is hashed with the route alias into one of 10,000
//! buckets, and buckets map to versions by the cumulative split. The hash is FNV-1a with a
//! final mix: stable across processes and releases, unlike std's randomized SipHash, so the
//! same user sees the same version on every replica and after restarts.

use crate::config::{DeploymentConfig, Rollout};

use super::strategy;

/// Buckets per split: 0.01% resolution.
pub const BUCKETS: u32 = 10_000;

/// A rollout compiled for one route: bucket ranges and the deployments of each version.
#[derive(Debug, Clone)]
pub(crate) struct RolloutPlan {
    /// (exclusive upper bucket, mask of deployments with that version), ascending.
    ranges: Vec<(u32, u64)>,
    seed: u64,
}

impl RolloutPlan {
    /// None when the split gives no usable shares (config validation normally prevents that).
    pub(crate) fn new(
        alias: &str,
        rollout: &Rollout,
        deployments: &[DeploymentConfig],
    ) -> Option<Self> {
        let total: f64 = rollout
            .split
            .values()
            .filter(|p| p.is_finite() && **p > 0.0)
            .sum();
        if !(total > 0.0 && total.is_finite()) {
            return None;
        }
        let mut ranges = Vec::with_capacity(rollout.split.len());
        let mut cumulative = 0.0;
        for (version, percent) in &rollout.split {
            if !(percent.is_finite() && *percent > 0.0) {
                continue;
            }
            cumulative += percent;
            // Normalised, so a split that doesn't add up to exactly 100 still covers every bucket.
            let upper = ((cumulative / total) * f64::from(BUCKETS)).round() as u32;
            let mask = deployments
                .iter()
                .enumerate()
                .take(64)
                .filter(|(_, d)| d.version.as_deref() == Some(version.as_str()))
                .fold(0u64, |m, (i, _)| m | (1 << i));
            ranges.push((upper.min(BUCKETS), mask));
        }
        if let Some(last) = ranges.last_mut() {
            last.0 = BUCKETS;
        }
        Some(RolloutPlan {
            ranges,
            seed: fnv1a(FNV_OFFSET, alias.as_bytes()),
        })
    }

    /// The bucket for a key; a random one without a key.
    pub(crate) fn bucket(&self, key: Option<&str>) -> u32 {
        match key {
            Some(key) => bucket_of(self.seed, key),
            None => strategy::below(BUCKETS),
        }
    }

    /// The deployments of the version that owns `bucket`.
    pub(crate) fn mask_for(&self, bucket: u32) -> u64 {
        self.ranges
            .iter()
            .find(|(upper, _)| bucket < *upper)
            .map_or(0, |(_, mask)| *mask)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Bucket of `key` under a route whose alias hashed to `seed`.
pub fn bucket_of(seed: u64, key: &str) -> u32 {
    // A separator byte keeps ("ab","c") and ("a","bc") apart.
    let h = fnv1a(fnv1a(seed, &[0xff]), key.as_bytes());
    // FNV's low bits are weak for short similar keys; a splitmix64 finaliser spreads them.
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % u64::from(BUCKETS)) as u32
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::StickyKey;

    fn deployment(version: &str) -> DeploymentConfig {
        let mut d = DeploymentConfig::new("p", format!("m-{version}"));
        d.version = Some(version.to_owned());
        d
    }

    fn plan(split: &[(&str, f64)]) -> RolloutPlan {
        let rollout = Rollout {
            sticky_by: StickyKey::User,
            split: split
                .iter()
                .map(|(v, p)| ((*v).to_owned(), *p))
                .collect::<BTreeMap<_, _>>(),
        };
        let deployments: Vec<_> = split.iter().map(|(v, _)| deployment(v)).collect();
        RolloutPlan::new("chat", &rollout, &deployments).unwrap()
    }

    #[test]
    fn split_holds_within_two_percent_over_10k_keys() {
        let plan = plan(&[("v1", 70.0), ("v2", 20.0), ("v3", 10.0)]);
        let mut counts = [0u32; 3];
        for i in 0..10_000 {
            let mask = plan.mask_for(plan.bucket(Some(&format!("user-{i}"))));
            counts[mask.trailing_zeros() as usize] += 1;
        }
        for (count, want) in counts.iter().zip([0.70, 0.20, 0.10]) {
            let share = f64::from(*count) / 10_000.0;
            assert!((share - want).abs() <= 0.02, "{counts:?}");
        }
    }

    #[test]
    fn same_key_same_bucket_and_alias_matters() {
        let plan = plan(&[("v1", 50.0), ("v2", 50.0)]);
        for i in 0..1_000 {
            let key = format!("session-{i}");
            assert_eq!(plan.bucket(Some(&key)), plan.bucket(Some(&key)));
        }
        // Pinned values: the hash must not change between releases.
        let seed = fnv1a(FNV_OFFSET, b"chat");
        assert_eq!(bucket_of(seed, "alice"), 6756);
        let other = fnv1a(FNV_OFFSET, b"other-model");
        let differ = (0..100)
            .filter(|i| bucket_of(seed, &i.to_string()) != bucket_of(other, &i.to_string()))
            .count();
        assert!(differ > 90);
    }

    #[test]
    fn zero_share_versions_get_no_buckets_and_bad_splits_are_none() {
        let plan = plan(&[("v1", 100.0), ("v2", 0.0)]);
        for b in [0, 5_000, BUCKETS - 1] {
            assert_eq!(plan.mask_for(b), 1);
        }
        let rollout = Rollout {
            sticky_by: StickyKey::User,
            split: BTreeMap::from([("v1".to_owned(), f64::NAN)]),
        };
        assert!(RolloutPlan::new("x", &rollout, &[deployment("v1")]).is_none());
    }
}
