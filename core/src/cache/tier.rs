//! The shared second tier (Redis: `crate::shared::RedisCache`): an opaque byte store other
//! processes read too.
//!
//! Entries carry their absolute expiry in a small envelope, so a value promoted into a
//! process lives only as long as the route's TTL allowed, not a fresh full TTL.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::CacheKey;

/// A byte store shared between processes. Failures are the implementation's to log: the
/// cache treats an unreachable tier as a miss and never fails a call because of it.
#[async_trait]
pub trait SharedCache: Send + Sync {
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration);

    /// Claims the fetch of `key` for this process for up to `hold`: `false` when another
    /// process holds the claim (its answer should appear soon). By default every process
    /// fetches for itself.
    async fn claim(&self, _key: &str, _hold: Duration) -> bool {
        true
    }

    /// Gives a claim up (the fetch ended, stored or failed).
    async fn release(&self, _key: &str) {}

    /// How long a process whose claim failed waits for the other's answer (zero: no
    /// coalescing across processes).
    fn claim_wait(&self) -> Duration {
        Duration::ZERO
    }
}

/// Namespaces our entries (the store adds its own prefix, naming the service).
const KEY_PREFIX: &str = "cache:v1:";

/// The shared tier's name for `key`.
pub(crate) fn tier_key(key: CacheKey) -> String {
    format!("{KEY_PREFIX}{key}")
}

/// Envelope layout: version byte, then expiry as big-endian unix milliseconds, then payload.
const ENVELOPE_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8;

/// Wraps `payload` with its expiry `ttl` from now.
pub(crate) fn seal(payload: &[u8], ttl: Duration) -> Vec<u8> {
    let expires_at =
        unix_millis().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload and the TTL it has left; `None` when expired or not an envelope of ours.
pub(crate) fn open(bytes: &[u8]) -> Option<(&[u8], Duration)> {
    let (&version, rest) = bytes.split_first()?;
    if version != ENVELOPE_VERSION {
        return None;
    }
    let (expiry, payload) = rest.split_first_chunk::<8>()?;
    let remaining = u64::from_be_bytes(*expiry).checked_sub(unix_millis())?;
    if remaining == 0 {
        return None;
    }
    Some((payload, Duration::from_millis(remaining)))
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_with_remaining_ttl() {
        let sealed = seal(b"hello", Duration::from_secs(60));
        let (payload, ttl) = open(&sealed).unwrap();
        assert_eq!(payload, b"hello");
        assert!(
            ttl <= Duration::from_secs(60) && ttl > Duration::from_secs(58),
            "{ttl:?}"
        );
    }

    #[test]
    fn expired_or_foreign_bytes_are_misses() {
        assert!(open(&seal(b"x", Duration::ZERO)).is_none());
        assert!(open(b"").is_none());
        assert!(open(b"\x01short").is_none());
        let mut other_version = seal(b"x", Duration::from_secs(60));
        other_version[0] = 2;
        assert!(open(&other_version).is_none());
    }

    #[test]
    fn tier_key_is_prefixed_hex() {
        assert_eq!(
            tier_key(CacheKey::from(1)),
            "cache:v1:00000000000000000000000000000001"
        );
    }
}
