use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use super::*;
use crate::config::CacheMode;

#[derive(Clone, Debug, PartialEq)]
struct Text(String);

impl CacheValue for Text {
    fn weight_bytes(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok().map(Text)
    }
}

fn text(s: &str) -> Text {
    Text(s.to_owned())
}

fn settings(max_bytes: u64) -> CacheSettings {
    CacheSettings {
        max_bytes,
        default_ttl_secs: 300,
        mode: CacheMode::Always,
        shared: None,
    }
}

fn cache() -> ResponseCache<Text, String> {
    ResponseCache::new(&settings(1 << 20))
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn insert_then_get_and_hit_is_reported() {
    let cache = cache();
    let key = CacheKey::from(1);
    assert_eq!(cache.get(key).await, None);
    cache.insert(key, text("a"), MINUTE).await;
    assert_eq!(cache.get(key).await, Some(text("a")));
    let (value, lookup) = cache
        .get_or_fetch(key, MINUTE, async {
            Err::<Text, String>("must not run".into())
        })
        .await
        .unwrap();
    assert_eq!((value, lookup), (text("a"), Lookup::Hit));
    assert!(lookup.is_cached());
}

#[tokio::test]
async fn each_entry_expires_after_its_own_ttl() {
    let cache = cache();
    let (short, long) = (CacheKey::from(1), CacheKey::from(2));
    cache
        .insert(short, text("s"), Duration::from_millis(50))
        .await;
    cache.insert(long, text("l"), MINUTE).await;
    assert_eq!(cache.get(short).await, Some(text("s")));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(cache.get(short).await, None);
    assert_eq!(cache.get(long).await, Some(text("l")));
}

#[tokio::test]
async fn reinsert_restarts_the_clock_with_the_new_ttl() {
    let cache = cache();
    let key = CacheKey::from(1);
    cache.insert(key, text("old"), MINUTE).await;
    cache
        .insert(key, text("new"), Duration::from_millis(50))
        .await;
    assert_eq!(cache.get(key).await, Some(text("new")));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(cache.get(key).await, None);
}

#[tokio::test]
async fn zero_ttl_stores_nothing() {
    let cache = cache();
    let key = CacheKey::from(1);
    cache.insert(key, text("a"), Duration::ZERO).await;
    assert_eq!(cache.get(key).await, None);
    let (_, lookup) = cache
        .get_or_fetch(key, Duration::ZERO, async { Ok::<_, String>(text("b")) })
        .await
        .unwrap();
    assert_eq!(lookup, Lookup::Fetched);
    assert_eq!(cache.get(key).await, None);
}

#[tokio::test]
async fn stays_within_max_bytes() {
    let max_bytes = 64 * 1024;
    let cache: ResponseCache<Text, String> = ResponseCache::new(&settings(max_bytes));
    let value = "x".repeat(1000);
    // ~1 MB inserted into a 64 KiB cache.
    for i in 0..1000u128 {
        cache
            .insert(CacheKey::from(i), Text(value.clone()), MINUTE)
            .await;
    }
    let size = cache.weighted_size();
    assert!(size <= max_bytes, "weighted_size {size} > {max_bytes}");
    assert!(
        size >= 1000,
        "the cache should still hold something, has {size}"
    );
    assert!(cache.entry_count() < 1000);
}

#[tokio::test]
async fn a_value_heavier_than_the_bound_is_not_kept() {
    let cache: ResponseCache<Text, String> = ResponseCache::new(&settings(100));
    let key = CacheKey::from(1);
    cache.insert(key, Text("x".repeat(500)), MINUTE).await;
    assert_eq!(cache.get(key).await, None);
    assert_eq!(cache.weighted_size(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_coalesce_into_one_fetch() {
    let cache = cache();
    let key = CacheKey::from(7);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let cache = cache.clone();
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                cache
                    .get_or_fetch(key, MINUTE, async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, String>(text("answer"))
                    })
                    .await
            })
        })
        .collect();
    let mut lookups = Vec::new();
    for task in tasks {
        let (value, lookup) = task.await.unwrap().unwrap();
        assert_eq!(value, text("answer"));
        lookups.push(lookup);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let fetched = lookups.iter().filter(|l| **l == Lookup::Fetched).count();
    assert_eq!(fetched, 1, "{lookups:?}");
    assert!(
        lookups
            .iter()
            .all(|l| matches!(l, Lookup::Fetched | Lookup::Coalesced | Lookup::Hit))
    );
    assert_eq!(cache.get(key).await, Some(text("answer")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_is_shared_but_not_cached() {
    let cache = cache();
    let key = CacheKey::from(9);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                cache
                    .get_or_fetch(key, MINUTE, async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<Text, String>("upstream 500".into())
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err("upstream 500".to_owned()));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get(key).await, None);

    let (value, lookup) = cache
        .get_or_fetch(key, MINUTE, async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(text("ok"))
        })
        .await
        .unwrap();
    assert_eq!((value, lookup), (text("ok"), Lookup::Fetched));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_take_over_when_the_fetching_caller_is_canceled() {
    let cache = cache();
    let key = CacheKey::from(11);
    let leader_done = Arc::new(AtomicUsize::new(0));
    let waiter_calls = Arc::new(AtomicUsize::new(0));

    let leader = {
        let cache = cache.clone();
        let leader_done = Arc::clone(&leader_done);
        tokio::spawn(async move {
            cache
                .get_or_fetch(key, MINUTE, async move {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    leader_done.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(text("leader"))
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            let calls = Arc::clone(&waiter_calls);
            tokio::spawn(async move {
                cache
                    .get_or_fetch(key, MINUTE, async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, String>(text("waiter"))
                    })
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(waiter_calls.load(Ordering::SeqCst), 0, "waiters must wait");
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());

    let mut lookups = Vec::new();
    for waiter in waiters {
        let done = tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("a waiter hung after the leader was canceled");
        let (value, lookup) = done.unwrap().unwrap();
        assert_eq!(value, text("waiter"));
        lookups.push(lookup);
    }
    assert_eq!(
        waiter_calls.load(Ordering::SeqCst),
        1,
        "one waiter takes over"
    );
    assert_eq!(lookups.iter().filter(|l| **l == Lookup::Fetched).count(), 1);
    assert_eq!(leader_done.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_timed_out_leader_does_not_block_the_next_caller() {
    let cache = cache();
    let key = CacheKey::from(12);
    let slow = cache.get_or_fetch(key, MINUTE, async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, String>(text("slow"))
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(20), slow)
            .await
            .is_err()
    );
    let next = tokio::time::timeout(
        Duration::from_secs(1),
        cache.get_or_fetch(key, MINUTE, async { Ok::<_, String>(text("fast")) }),
    )
    .await
    .expect("next caller hung")
    .unwrap();
    assert_eq!(next, (text("fast"), Lookup::Fetched));
}

/// An in-memory stand-in for Redis that honours the TTL it is given.
#[derive(Default)]
struct FakeShared {
    entries: Mutex<HashMap<String, Vec<u8>>>,
    gets: AtomicUsize,
}

impl FakeShared {
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
    fn clear(&self) {
        self.entries.lock().unwrap().clear();
    }
}

#[async_trait]
impl SharedCache for FakeShared {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.entries.lock().unwrap().get(key).cloned()
    }
    async fn put(&self, key: &str, value: Vec<u8>, _ttl: Duration) {
        self.entries.lock().unwrap().insert(key.to_owned(), value);
    }
}

#[tokio::test]
async fn a_shared_tier_hit_is_promoted_into_process() {
    let shared = Arc::new(FakeShared::default());
    let writer = cache().with_shared_tier(shared.clone());
    let key = CacheKey::from(21);
    writer.insert(key, text("shared"), MINUTE).await;
    assert_eq!(shared.len(), 1);

    // Another process: empty in process, same shared tier.
    let reader = cache().with_shared_tier(shared.clone());
    assert_eq!(reader.get(key).await, Some(text("shared")));
    assert_eq!(shared.gets.load(Ordering::SeqCst), 1);
    // Promoted: answered in process even once the shared tier forgets it.
    shared.clear();
    assert_eq!(reader.get(key).await, Some(text("shared")));
    assert_eq!(shared.gets.load(Ordering::SeqCst), 1);
    assert_eq!(reader.entry_count(), 1);
}

#[tokio::test]
async fn get_or_fetch_reads_the_shared_tier_before_fetching_and_writes_it_after() {
    let shared = Arc::new(FakeShared::default());
    let other_process = cache().with_shared_tier(shared.clone());
    let (a, b) = (CacheKey::from(31), CacheKey::from(32));
    other_process.insert(a, text("from tier"), MINUTE).await;

    let cache = cache().with_shared_tier(shared.clone());
    let (value, lookup) = cache
        .get_or_fetch(a, MINUTE, async {
            Err::<Text, String>("must not run".into())
        })
        .await
        .unwrap();
    assert_eq!((value, lookup), (text("from tier"), Lookup::Shared));

    let (_, lookup) = cache
        .get_or_fetch(b, MINUTE, async { Ok::<_, String>(text("fresh")) })
        .await
        .unwrap();
    assert_eq!(lookup, Lookup::Fetched);
    let fresh_cache = ResponseCache::<Text>::new(&settings(1 << 20)).with_shared_tier(shared);
    assert_eq!(fresh_cache.get(b).await, Some(text("fresh")));
}

#[tokio::test]
async fn promotion_keeps_only_the_ttl_left() {
    let shared = Arc::new(FakeShared::default());
    let key = CacheKey::from(41);
    cache()
        .with_shared_tier(shared.clone())
        .insert(key, text("brief"), Duration::from_millis(80))
        .await;
    let reader = cache().with_shared_tier(shared.clone());
    assert_eq!(reader.get(key).await, Some(text("brief")));
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Expired in process and (by its envelope) in the tier, though the fake never evicts.
    assert_eq!(reader.get(key).await, None);
}

#[tokio::test]
async fn undecodable_tier_bytes_are_a_miss() {
    #[derive(Clone, Debug, PartialEq)]
    struct Picky;
    impl CacheValue for Picky {
        fn weight_bytes(&self) -> u32 {
            0
        }
        fn to_bytes(&self) -> Vec<u8> {
            b"picky".to_vec()
        }
        fn from_bytes(_: &[u8]) -> Option<Self> {
            None
        }
    }
    let shared = Arc::new(FakeShared::default());
    let key = CacheKey::from(51);
    let writer = ResponseCache::<Picky>::new(&settings(1 << 20)).with_shared_tier(shared.clone());
    writer.insert(key, Picky, MINUTE).await;
    let reader = ResponseCache::<Picky>::new(&settings(1 << 20)).with_shared_tier(shared);
    assert_eq!(reader.get(key).await, None);
}
