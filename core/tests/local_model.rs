//! The local provider on the real SmolLM2-135M-Instruct file (`make model` fetches it).
//! Without the file these tests fail, saying so: they never pass silently.

#![cfg(feature = "local")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/local_model.rs"]
mod local_model;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use switchyard::config::Config;
use switchyard::error::ErrorKind;
use switchyard::types::{ChatRequest, FinishReason, Message};
use switchyard::{CallOptions, Client};

use local_model::model_path;

const QUESTION: &str = "What is the capital of France? Answer in one sentence.";

/// A client whose model `local` is the given local provider settings. Each test uses its
/// own `context_size` so that it gets its own context pool (pools are per process).
fn client_with(model_path: &str, settings: &str) -> Client {
    let yaml = format!(
        r#"
version: 1
cache: {{ mode: off }}
providers:
  local: {{ kind: local, model_path: "{model_path}", threads: 1, {settings} }}
models:
  local:
    deployments: [{{ provider: local, model: smollm2-135m-instruct }}]
"#
    );
    let config = Config::from_yaml(&yaml).unwrap();
    Client::builder().config(config).build().unwrap()
}

fn client(settings: &str) -> Client {
    client_with(model_path().to_str().unwrap(), settings)
}

fn greedy(question: &str, max_tokens: u32) -> ChatRequest {
    let mut request = ChatRequest::new("local", vec![Message::user(question)]);
    request.temperature = Some(0.0);
    request.max_tokens = Some(max_tokens);
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greedy_answer_names_paris_with_usage_and_zero_cost() {
    let client = client("context_size: 2048, max_concurrency: 2");
    let outcome = client
        .chat(greedy(QUESTION, 48), &CallOptions::default())
        .await
        .unwrap();
    let text = outcome.response.text();
    assert!(text.contains("Paris"), "answer: {text:?}");
    let usage = outcome.response.usage.clone().unwrap();
    assert!(usage.prompt_tokens > 10, "{usage:?}");
    assert!(usage.completion_tokens > 0 && usage.completion_tokens <= 48);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    assert!(outcome.meta.local, "meta: {:?}", outcome.meta);
    assert_eq!(outcome.meta.cost_usd, 0.0);
    assert_eq!(outcome.meta.deployment, "local/smollm2-135m-instruct");
    assert_eq!(outcome.response.model, "smollm2-135m-instruct");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_arrives_incrementally_and_matches_the_whole_answer() {
    let client = client("context_size: 1536, max_concurrency: 1");
    let whole = client
        .chat(greedy(QUESTION, 32), &CallOptions::default())
        .await
        .unwrap();

    let started = Instant::now();
    let mut stream = client
        .chat_stream(greedy(QUESTION, 32), &CallOptions::default())
        .await
        .unwrap();
    let mut texts = Vec::new();
    let mut arrivals = Vec::new();
    let mut finish = None;
    let mut usage = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        if !chunk.text().is_empty() {
            arrivals.push(started.elapsed());
            texts.push(chunk.text().to_owned());
        }
        if let Some(reason) = chunk.choices.first().and_then(|c| c.finish_reason.clone()) {
            finish = Some(reason);
        }
        if chunk.usage.is_some() {
            usage = chunk.usage.clone();
        }
    }
    assert!(
        texts.len() >= 5,
        "expected token-by-token chunks, got {texts:?}"
    );
    // Each chunk left when its token was decoded (a millisecond or more apart), not all at
    // once at the end.
    let mut gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    assert!(
        gaps[gaps.len() / 2] >= Duration::from_micros(500),
        "chunks arrived together, not incrementally: {arrivals:?}"
    );
    // Greedy decoding: the stream says exactly what the whole call said.
    assert_eq!(texts.concat(), whole.response.text());
    assert!(matches!(
        finish,
        Some(FinishReason::Stop | FinishReason::Length)
    ));
    assert_eq!(usage.unwrap(), whole.response.usage.unwrap());
    assert!(stream.meta().local);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_stops_generation() {
    // One context: if the dropped stream kept generating its 1500 tokens (over ten seconds
    // here), the next call would wait for it.
    let client = client("context_size: 1792, max_concurrency: 1");
    let mut long = greedy("Write a very long story about a dragon and a knight.", 1500);
    long.stop = None;
    let mut stream = client
        .chat_stream(long, &CallOptions::default())
        .await
        .unwrap();
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream);
    let started = Instant::now();
    let options = CallOptions {
        timeout: Some(Duration::from_secs(30)),
        ..CallOptions::default()
    };
    let next = client.chat(greedy("Say hi.", 4), &options).await.unwrap();
    assert!(next.response.usage.unwrap().completion_tokens <= 4);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the next call waited {:?}: the dropped stream kept its context",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_calls_both_finish() {
    let client = client("context_size: 1280, max_concurrency: 2");
    let options = CallOptions::default();
    let a = client.chat(greedy(QUESTION, 24), &options);
    let b = client.chat(greedy("Name three colours.", 24), &options);
    let (a, b) = tokio::join!(a, b);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.response.text().contains("Paris"),
        "{:?}",
        a.response.text()
    );
    assert!(!b.response.text().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_capacity_calls_fail_overloaded() {
    let client = client("context_size: 1024, max_concurrency: 1, max_queue: 0");
    let options = CallOptions::default();
    let busy = client.chat(greedy("Write a long poem about the sea.", 200), &options);
    let second = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        client
            .chat(greedy("Say hi.", 4), &CallOptions::default())
            .await
    };
    let (busy, second) = tokio::join!(busy, second);
    busy.unwrap();
    let error = second.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::Overloaded, "{error}");
    assert!(error.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_call_waits_for_a_free_context() {
    let client = client("context_size: 896, max_concurrency: 1, max_queue: 4");
    let options = CallOptions::default();
    let a = client.chat(greedy(QUESTION, 16), &options);
    let b = client.chat(greedy(QUESTION, 16), &options);
    let (a, b) = tokio::join!(a, b);
    assert_eq!(a.unwrap().response.text(), b.unwrap().response.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_longer_than_the_context_is_a_typed_error() {
    let client = client("context_size: 64");
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(20);
    let error = client
        .chat(greedy(&long, 8), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::ContextWindowExceeded, "{error}");
    let mut stream_error = None;
    match client
        .chat_stream(greedy(&long, 8), &CallOptions::default())
        .await
    {
        Err(e) => stream_error = Some(e),
        Ok(mut s) => {
            while let Some(item) = s.next().await {
                if let Err(e) = item {
                    stream_error = Some(e);
                }
            }
        }
    }
    assert_eq!(
        stream_error.unwrap().kind(),
        &ErrorKind::ContextWindowExceeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sequences_cut_the_answer_and_max_tokens_says_length() {
    let client = client("context_size: 768, max_concurrency: 1");
    let full = client
        .chat(greedy(QUESTION, 40), &CallOptions::default())
        .await
        .unwrap()
        .response
        .text();
    let cut_at = full.find("Paris").expect("Paris in the greedy answer");
    let mut request = greedy(QUESTION, 40);
    request.stop = Some(switchyard::types::Stop::One("Paris".into()));
    let stopped = client.chat(request, &CallOptions::default()).await.unwrap();
    assert_eq!(stopped.response.text(), full[..cut_at]);
    assert_eq!(
        stopped.response.choices[0].finish_reason,
        Some(FinishReason::Stop)
    );

    let short = client
        .chat(greedy(QUESTION, 3), &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(short.response.usage.unwrap().completion_tokens, 3);
    assert_eq!(
        short.response.choices[0].finish_reason,
        Some(FinishReason::Length)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_sampling_is_repeatable() {
    let client = client("context_size: 640, max_concurrency: 1");
    let sampled = || {
        let mut r = ChatRequest::new("local", vec![Message::user("Tell me a fun fact.")]);
        r.temperature = Some(0.9);
        r.top_p = Some(0.9);
        r.seed = Some(42);
        r.max_tokens = Some(24);
        r.extra.insert("top_k".into(), 50.into());
        r.extra.insert("repeat_penalty".into(), 1.1.into());
        r
    };
    let a = client
        .chat(sampled(), &CallOptions::default())
        .await
        .unwrap();
    let b = client
        .chat(sampled(), &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(a.response.text(), b.response.text());
    assert!(!a.response.text().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_corrupt_model_files_are_typed_errors() {
    let dir = std::env::temp_dir().join(format!("switchyard-local-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let missing = dir.join("absent.gguf");
    let error = client_with(missing.to_str().unwrap(), "context_size: 512")
        .chat(greedy("hi", 4), &CallOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Config { .. }), "{error}");
    assert_eq!(error.field(), Some("providers.local.model_path"));
    assert!(error.message().contains("make model"), "{error}");

    let not_gguf = dir.join("text.gguf");
    std::fs::write(&not_gguf, b"this is not a model").unwrap();
    let error = client_with(not_gguf.to_str().unwrap(), "context_size: 512")
        .chat(greedy("hi", 4), &CallOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Config { .. }), "{error}");
    assert!(error.message().contains("not a GGUF"), "{error}");

    // The real file cut short: the header parses, the tensor data is missing.
    let truncated = dir.join("truncated.gguf");
    let bytes = std::fs::read(model_path()).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let error = client_with(truncated.to_str().unwrap(), "context_size: 512")
        .chat(greedy("hi", 4), &CallOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Config { .. }), "{error}");
    assert!(error.message().contains("llama"), "{error}");

    // A GGUF header with garbage after it.
    let garbage = dir.join("garbage.gguf");
    let mut junk = b"GGUF".to_vec();
    junk.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&garbage, &junk).unwrap();
    let error = client_with(garbage.to_str().unwrap(), "context_size: 512")
        .chat(greedy("hi", 4), &CallOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Config { .. }), "{error}");
    assert!(error.message().contains("corrupt"), "{error}");

    // A well-formed GGUF of an architecture llama.cpp does not know.
    let alien = dir.join("alien.gguf");
    std::fs::write(&alien, gguf_with_architecture("no-such-arch")).unwrap();
    let error = client_with(alien.to_str().unwrap(), "context_size: 512")
        .chat(greedy("hi", 4), &CallOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Config { .. }), "{error}");
    assert!(error.message().contains("`no-such-arch`"), "{error}");
    assert!(error.message().contains("not supported"), "{error}");

    std::fs::remove_dir_all(&dir).ok();
}

/// A GGUF v3 file with one metadata key, `general.architecture`, and no tensors.
fn gguf_with_architecture(architecture: &str) -> Vec<u8> {
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    };
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes()); // version
    out.extend(0u64.to_le_bytes()); // tensors
    out.extend(1u64.to_le_bytes()); // metadata pairs
    string(&mut out, "general.architecture");
    out.extend(8u32.to_le_bytes()); // GGUF_TYPE_STRING
    string(&mut out, architecture);
    out
}

#[test]
fn config_requires_model_path_for_local() {
    let error = Config::from_yaml("version: 1\nproviders:\n  local: { kind: local, threads: 0 }\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("providers.local.model_path"), "{error}");
    assert!(error.contains("providers.local.threads"), "{error}");
    let error =
        Config::from_yaml("version: 1\nproviders:\n  oa: { kind: openai, model_path: x.gguf }\n")
            .unwrap_err()
            .to_string();
    assert!(error.contains("providers.oa.model_path"), "{error}");
}
