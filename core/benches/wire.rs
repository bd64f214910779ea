//! The wire layer: serialising a typical chat request (straight, and through a JSON tree as
//! presets need), an endpoint URL parsed against one cloned, parsing a typical response, and
//! SSE framing throughput for each provider's stream format (fed in 4 KiB reads, as a socket
//! would deliver them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchyard::providers::sse::SseParser;
use switchyard::types::{ChatChunk, ChatRequest, ChatResponse, Message};

const RESPONSE: &str = r#"{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Lisbon is lovely in spring: mild weather, blooming jacarandas and fewer crowds than summer.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":39,"completion_tokens":21,"total_tokens":60,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}"#;

fn typical_request() -> ChatRequest {
    let mut request = ChatRequest::new(
        "chat",
        vec![
            Message::system(
                "You are a concise assistant for a travel booking product. Answer in one sentence.",
            ),
            Message::user(
                "Suggest one European city to visit in spring, and say why in a few words.",
            ),
        ],
    );
    request.temperature = Some(0.2);
    request.max_tokens = Some(128);
    request.user = Some("user-42".into());
    request
}

fn stream_body(frame: &str, end: &str, frames: usize) -> Vec<u8> {
    let mut body = String::with_capacity(frame.len() * frames + end.len());
    for _ in 0..frames {
        body.push_str(frame);
    }
    body.push_str(end);
    body.into_bytes()
}

fn openai_stream() -> Vec<u8> {
    stream_body(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
        "data: [DONE]\n\n",
        2000,
    )
}

fn anthropic_stream() -> Vec<u8> {
    stream_body(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" word\"}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        2000,
    )
}

fn gemini_stream() -> Vec<u8> {
    stream_body(
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" word\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}\r\n\r\n",
        "",
        2000,
    )
}

fn serde_paths(c: &mut Criterion) {
    let request = typical_request();
    c.bench_function("request_serialise", |b| {
        b.iter(|| serde_json::to_vec(std::hint::black_box(&request)).unwrap())
    });
    // What the OpenAI provider did before for every request (a JSON tree, then its bytes);
    // it still does for presets, which drop or refuse fields.
    c.bench_function("request_serialise_via_value", |b| {
        b.iter(|| {
            let tree = serde_json::to_value(std::hint::black_box(&request)).unwrap();
            serde_json::to_vec(&tree).unwrap()
        })
    });
    // The provider's endpoint URL: parsed per call before, cloned from the parsed one now.
    let base = "https://api.openai.com/v1";
    let parsed = reqwest::Url::parse(&format!("{base}/chat/completions")).unwrap();
    c.bench_function("endpoint_url_parse", |b| {
        b.iter(|| {
            reqwest::Url::parse(&format!("{}/chat/completions", std::hint::black_box(base)))
                .unwrap()
        })
    });
    c.bench_function("endpoint_url_clone", |b| {
        b.iter(|| std::hint::black_box(&parsed).clone())
    });
    c.bench_function("response_parse", |b| {
        b.iter(|| serde_json::from_str::<ChatResponse>(std::hint::black_box(RESPONSE)).unwrap())
    });
}

fn sse(c: &mut Criterion) {
    let mut group = c.benchmark_group("sse_parse");
    for (name, body) in [
        ("openai", openai_stream()),
        ("anthropic", anthropic_stream()),
        ("gemini", gemini_stream()),
    ] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut parser = SseParser::new();
                let mut events = Vec::with_capacity(64);
                let mut count = 0;
                for read in body.chunks(4096) {
                    parser.push(read, &mut events);
                    count += events.len();
                    events.clear();
                }
                count
            })
        });
    }
    let body = openai_stream();
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("openai_with_chunk_decode", |b| {
        b.iter(|| {
            let mut parser = SseParser::new();
            let mut events = Vec::with_capacity(64);
            let mut chunks = 0;
            for read in body.chunks(4096) {
                parser.push(read, &mut events);
                for event in events.drain(..) {
                    if event.data != "[DONE]" {
                        serde_json::from_str::<ChatChunk>(&event.data).unwrap();
                        chunks += 1;
                    }
                }
            }
            chunks
        })
    });
    group.finish();
}

criterion_group!(benches, serde_paths, sse);
criterion_main!(benches);
