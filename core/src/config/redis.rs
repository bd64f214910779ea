//! The `redis` section and `cache.shared`: the store several processes share (docs/redis.md).

use serde::{Deserialize, Serialize};

use super::{ConfigIssue, Secret};

/// Longest per-operation timeout accepted: the shared tier must never hold a call up for long.
const MAX_TIMEOUT_MS: u64 = 10_000;

/// The Redis server every process of a service shares: the response cache's second tier
/// (`cache.shared`) and the rate limits declared `shared`. Read when the client is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS; best given as
    /// `${REDIS_URL}`.
    pub url: Secret,
    /// PEM file of the CA that signed a `rediss://` server's certificate, for a private CA
    /// (a self-managed Redis); without it the system's trust store decides. Read when the
    /// client connects, on the machine that runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Prefix of every key written, so several services can share one Redis.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Timeout of each Redis operation; past it the call goes on without Redis.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

/// The response cache's shared tier in Redis (needs the `redis` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SharedCacheConfig {
    /// Answers larger than this are kept in process only. Redis's `maxmemory` with an LRU
    /// policy bounds the total.
    pub max_entry_bytes: u64,
    /// How long a process that misses waits for another process already fetching the same
    /// answer (0: never waits, every process fetches its own).
    pub coalesce_wait_ms: u64,
}

impl Default for SharedCacheConfig {
    fn default() -> Self {
        SharedCacheConfig {
            max_entry_bytes: 1024 * 1024,
            coalesce_wait_ms: 3_000,
        }
    }
}

fn default_key_prefix() -> String {
    "switchyard:".into()
}

fn default_timeout_ms() -> u64 {
    50
}

impl RedisConfig {
    pub(crate) fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        // A `${VAR}` reference is checked when the client connects: unset, Redis is off.
        if self.url.env_var().is_none() {
            let url = self.url.resolve().unwrap_or_default();
            if let Some(problem) = url_problem(&url) {
                issues.push(ConfigIssue::new("redis.url", problem));
            } else if self.ca_file.is_some() && !url.starts_with("rediss://") {
                issues.push(ConfigIssue::new(
                    "redis.ca_file",
                    "only a rediss:// (TLS) URL uses a CA file",
                ));
            }
        }
        if self.ca_file.as_deref().is_some_and(str::is_empty) {
            issues.push(ConfigIssue::new("redis.ca_file", "must not be empty"));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            issues.push(ConfigIssue::new(
                "redis.timeout_ms",
                format!("must be between 1 and {MAX_TIMEOUT_MS}"),
            ));
        }
        if self.key_prefix.is_empty() {
            issues.push(ConfigIssue::new(
                "redis.key_prefix",
                "must not be empty (it keeps our keys apart from other software's)",
            ));
        }
    }
}

impl SharedCacheConfig {
    pub(crate) fn validate(&self, has_redis: bool, issues: &mut Vec<ConfigIssue>) {
        if !has_redis {
            issues.push(ConfigIssue::new(
                "cache.shared",
                "needs a `redis` section to share the cache through",
            ));
        }
        if self.max_entry_bytes == 0 {
            issues.push(ConfigIssue::new(
                "cache.shared.max_entry_bytes",
                "must be > 0",
            ));
        }
        if self.coalesce_wait_ms > 60_000 {
            issues.push(ConfigIssue::new(
                "cache.shared.coalesce_wait_ms",
                "must be at most 60000",
            ));
        }
    }
}

/// Why `url` cannot name a Redis server this build connects to, if it cannot.
pub(crate) fn url_problem(url: &str) -> Option<String> {
    if !url.starts_with("redis://") && !url.starts_with("rediss://") {
        return Some("must be a redis:// or rediss:// (TLS) URL".into());
    }
    // The client library reads this fragment as "skip certificate checks": a man in the
    // middle would then see every cached answer and limit key.
    if url.starts_with("rediss://") && url.contains("#insecure") {
        return Some(
            "certificate checks cannot be turned off (#insecure); give a private CA as redis.ca_file"
                .into(),
        );
    }
    match ::redis::Client::open(url) {
        Ok(_) => None,
        Err(e) => Some(format!("not a valid Redis URL: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis(url: &str, timeout_ms: u64) -> Vec<ConfigIssue> {
        redis_with_ca(url, timeout_ms, None)
    }

    fn redis_with_ca(url: &str, timeout_ms: u64, ca_file: Option<&str>) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        RedisConfig {
            url: Secret::new(url),
            ca_file: ca_file.map(str::to_owned),
            key_prefix: default_key_prefix(),
            timeout_ms,
        }
        .validate(&mut issues);
        issues
    }

    #[test]
    fn urls_and_timeouts() {
        assert!(redis("redis://127.0.0.1:6379/0", 50).is_empty());
        assert!(redis("${REDIS_URL}", 50).is_empty());
        assert_eq!(redis("http://x", 50)[0].path, "redis.url");
        assert!(redis("rediss://x:6380", 50).is_empty());
        assert!(
            redis("rediss://x:6380/#insecure", 50)[0]
                .message
                .contains("ca_file")
        );
        assert!(redis_with_ca("rediss://x:6380", 50, Some("/etc/ca.pem")).is_empty());
        assert_eq!(
            redis_with_ca("redis://x", 50, Some("/etc/ca.pem"))[0].path,
            "redis.ca_file"
        );
        assert_eq!(
            redis_with_ca("rediss://x", 50, Some(""))[0].path,
            "redis.ca_file"
        );
        assert_eq!(redis("redis://x", 0)[0].path, "redis.timeout_ms");
        assert_eq!(redis("redis://x", 10_001)[0].path, "redis.timeout_ms");
    }

    #[test]
    fn shared_cache_needs_redis() {
        let mut issues = Vec::new();
        SharedCacheConfig::default().validate(false, &mut issues);
        assert_eq!(issues[0].path, "cache.shared");
    }
}
