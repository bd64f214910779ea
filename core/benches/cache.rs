//! Hot path of the response cache: key computation and a full in-process hit; and a hit
//! served by the Redis tier against one in process (docs/redis.md quotes the medians),
//! when `redis-server` is on the PATH (a throwaway one on a free port).

#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::cache::{CacheKey, CacheValue, ResponseCache, chat_key};
use switchyard::config::CacheSettings;
use switchyard::types::{ChatRequest, Message};

#[derive(Clone)]
struct Answer(String);

impl CacheValue for Answer {
    fn weight_bytes(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok().map(Answer)
    }
}

/// A typical small chat call: system + user message, ~300 bytes on the wire.
fn typical_request() -> ChatRequest {
    let mut request = ChatRequest::new(
        "fast",
        vec![
            Message::system(
                "You are a concise assistant. Answer in one short paragraph and cite no sources.",
            ),
            Message::user(
                "Summarise in two sentences why request coalescing matters for an LLM gateway cache under bursty load.",
            ),
        ],
    );
    request.temperature = Some(0.0);
    request.max_tokens = Some(256);
    request
}

fn bench_cache(c: &mut Criterion) {
    let request = typical_request();
    let wire = serde_json::to_vec(&request).unwrap_or_default();
    println!("typical request: {} bytes", wire.len());

    c.bench_function("chat_key/typical", |b| {
        b.iter(|| chat_key(black_box("fast"), black_box(&request)))
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let cache: ResponseCache<Answer> = ResponseCache::new(&CacheSettings::default());
    let key: CacheKey = chat_key("fast", &request);
    runtime.block_on(cache.insert(
        key,
        Answer("Coalescing turns N identical misses into one upstream call.".into()),
        Duration::from_secs(3600),
    ));

    c.bench_function("cache_hit/key_and_get", |b| {
        b.to_async(&runtime).iter(|| async {
            let key = chat_key(black_box("fast"), black_box(&request));
            black_box(cache.get(key).await)
        })
    });
}

/// The same 2 KiB answer read through `ResponseCache::get`, in process and from Redis.
fn bench_tiers(c: &mut Criterion) {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    // The tier's connection is made on the runtime that first uses it.
    let tier = runtime.block_on(async { server.cache_tier(1_000, 1 << 20, 0) });
    let answer = Answer("x".repeat(2048));
    let key = CacheKey::from(42);
    let in_process: ResponseCache<Answer> = ResponseCache::new(&CacheSettings::default());
    // A bound smaller than the answer: nothing is kept in process, every read goes to Redis.
    let redis_only: ResponseCache<Answer> = ResponseCache::new(&CacheSettings {
        max_bytes: 64,
        ..CacheSettings::default()
    })
    .with_shared_tier(Arc::new(tier));
    let stored = runtime.block_on(async {
        let ttl = Duration::from_secs(3600);
        in_process.insert(key, answer.clone(), ttl).await;
        redis_only.insert(key, answer.clone(), ttl).await;
        redis_only.get(key).await.is_some()
    });
    if !stored {
        eprintln!("the Redis tier did not answer; no tier figures");
        return;
    }
    c.bench_function("cache_hit/in_process_2k", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(in_process.get(black_box(key)).await) })
    });
    c.bench_function("cache_hit/redis_tier_2k", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(redis_only.get(black_box(key)).await) })
    });
}

criterion_group!(benches, bench_cache, bench_tiers);
criterion_main!(benches);
