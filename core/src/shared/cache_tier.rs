//! The response cache's second tier in Redis: one string per answer with its TTL in
//! milliseconds, a size cap per entry, and a `SET NX PX` claim so that processes missing
//! the same answer at once make one upstream call between them.

use std::sync::Arc;
use std::time::Duration;

use ::redis::AsyncCommands;
use async_trait::async_trait;

use super::Redis;
use super::stats::{Purpose, Stats};
use crate::cache::SharedCache;
use crate::config::SharedCacheConfig;

/// [`SharedCache`] on a [`Redis`]: what `cache.shared` in the config builds.
#[derive(Debug, Clone)]
pub struct RedisCache {
    redis: Arc<Redis>,
    max_entry_bytes: usize,
    coalesce_wait: Duration,
}

impl RedisCache {
    pub fn new(redis: Arc<Redis>, config: &SharedCacheConfig) -> Self {
        RedisCache {
            redis,
            max_entry_bytes: usize::try_from(config.max_entry_bytes).unwrap_or(usize::MAX),
            coalesce_wait: Duration::from_millis(config.coalesce_wait_ms),
        }
    }

    fn claim_key(&self, key: &str) -> String {
        self.redis.key(&format!("{key}:fetching"))
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl SharedCache for RedisCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let name = self.redis.key(key);
        let found: Option<Vec<u8>> = self
            .redis
            .run(Purpose::Cache, |mut c| async move { c.get(name).await })
            .await?;
        let stats = &self.redis.stats;
        Stats::bump(if found.is_some() {
            &stats.cache_hits
        } else {
            &stats.cache_misses
        });
        found
    }

    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        if value.len() > self.max_entry_bytes {
            Stats::bump(&self.redis.stats.cache_oversize);
            tracing::debug!(
                bytes = value.len(),
                "shared cache: answer above max_entry_bytes; kept in process only"
            );
            return;
        }
        let name = self.redis.key(key);
        let ms = millis(ttl);
        let stored = self
            .redis
            .run(Purpose::Cache, |mut c| async move {
                c.pset_ex::<_, _, ()>(name, value, ms).await
            })
            .await;
        if stored.is_some() {
            Stats::bump(&self.redis.stats.cache_writes);
        }
    }

    async fn claim(&self, key: &str, hold: Duration) -> bool {
        let name = self.claim_key(key);
        let ms = millis(hold);
        let set: Option<Option<String>> = self
            .redis
            .run(Purpose::Cache, |mut c| async move {
                ::redis::cmd("SET")
                    .arg(name)
                    .arg(std::process::id())
                    .arg("NX")
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut c)
                    .await
            })
            .await;
        // Redis unreachable: nobody can coordinate, so this process fetches.
        let Some(set) = set else { return true };
        let won = set.is_some();
        if !won {
            Stats::bump(&self.redis.stats.coalesce_waits);
        }
        won
    }

    async fn release(&self, key: &str) {
        let name = self.claim_key(key);
        let _: Option<()> = self
            .redis
            .run(Purpose::Cache, |mut c| async move { c.del(name).await })
            .await;
    }

    fn claim_wait(&self) -> Duration {
        self.coalesce_wait
    }
}
