//! Hot path of the response cache: key computation and a full in-process hit.

use std::hint::black_box;
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

criterion_group!(benches, bench_cache);
criterion_main!(benches);
