//! App keys already verified, remembered for a few seconds: the gateway and the SDK
//! endpoints authenticate every request by its key, and a database read per request was
//! the largest part of a gateway call's own cost.
//!
//! Entries are found by the key's SHA-256 (what the database stores), never by the key.
//! A revocation or an app deletion in this process forgets that key's entries at once;
//! one made by another replica or by the CLI on PostgreSQL as soon as this replica hears
//! of it (every change to a tenant forgets its keys: `crate::cluster::listener`), and at
//! the latest within [`KEY_CACHE_TTL`] (SQLite's CLI, or a listener reconnecting).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::KeyAuth;
use crate::util::now_ms;

/// How long a verified key is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Entries kept at most; past it the cache starts over (a flood of distinct valid keys
/// costs database reads, never memory).
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    auth: KeyAuth,
    /// Until when the entry may answer: the TTL, or the key's own expiry if sooner.
    until: Instant,
}

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl KeyCache {
    /// The key whose hash is `hash`, if it was verified within the TTL.
    pub fn get(&self, hash: &str) -> Option<KeyAuth> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(hash)?;
        (entry.until > Instant::now()).then(|| entry.auth.clone())
    }

    /// Remembers a key the database just verified.
    pub fn put(&self, hash: String, auth: KeyAuth) {
        let mut until = Instant::now() + KEY_CACHE_TTL;
        if let Some(expires_at) = auth.expires_at {
            let left = u64::try_from(expires_at.saturating_sub(now_ms())).unwrap_or(0);
            until = until.min(Instant::now() + Duration::from_millis(left));
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, Entry { auth, until });
        }
    }

    /// Forgets a revoked key.
    pub fn forget_key(&self, key_id: &str) {
        self.forget(|auth| auth.key_id == key_id);
    }

    /// Forgets every key of a deleted app.
    pub fn forget_app(&self, app_id: &str) {
        self.forget(|auth| auth.app_id == app_id);
    }

    /// Forgets every key of a tenant another replica changed something in.
    pub fn forget_tenant(&self, tenant_id: &str) {
        self.forget(|auth| auth.tenant_id == tenant_id);
    }

    /// Forgets everything (changes may have been missed).
    pub fn clear(&self) {
        self.forget(|_| true);
    }

    fn forget(&self, matches: impl Fn(&KeyAuth) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, e| !matches(&e.auth));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(key: &str, app: &str, expires_at: Option<i64>) -> KeyAuth {
        KeyAuth {
            tenant_id: "t".into(),
            app_id: app.into(),
            key_id: key.into(),
            prefix: "p".into(),
            expires_at,
        }
    }

    #[test]
    fn a_key_is_remembered_until_revoked_or_its_app_deleted() {
        let cache = KeyCache::default();
        cache.put("h1".into(), auth("k1", "a1", None));
        cache.put("h2".into(), auth("k2", "a1", None));
        cache.put("h3".into(), auth("k3", "a2", None));
        assert_eq!(cache.get("h1").map(|a| a.key_id), Some("k1".into()));
        cache.forget_key("k1");
        assert!(cache.get("h1").is_none());
        assert!(cache.get("h2").is_some());
        cache.forget_app("a1");
        assert!(cache.get("h2").is_none());
        assert!(cache.get("h3").is_some());
        cache.put(
            "h4".into(),
            KeyAuth {
                tenant_id: "other".into(),
                ..auth("k4", "a4", None)
            },
        );
        cache.forget_tenant("t");
        assert!(cache.get("h3").is_none());
        assert!(cache.get("h4").is_some());
        cache.clear();
        assert!(cache.get("h4").is_none());
    }

    #[test]
    fn an_expired_key_is_not_answered() {
        let cache = KeyCache::default();
        cache.put("h".into(), auth("k", "a", Some(now_ms() - 1)));
        assert!(cache.get("h").is_none());
    }
}
