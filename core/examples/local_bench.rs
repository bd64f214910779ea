//! Measures the local provider through the public client API: cold time to first token,
//! prompt and generation tokens/s. Driven by `bench/local_vs_llama_cpp_python.py`, which
//! runs llama-cpp-python on the same file, prompt, thread count and token counts.
//!
//! cargo run --release --features local --example local_bench -- MODEL THREADS PROMPT_FILE GEN_TOKENS RUNS
//! Prints one JSON object on stdout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use futures_util::StreamExt;
use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let process_start = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: local_bench MODEL THREADS PROMPT_FILE GEN_TOKENS RUNS");
        std::process::exit(2);
    }
    let (model, threads) = (&args[1], &args[2]);
    let prompt = std::fs::read_to_string(&args[3]).expect("prompt file");
    let gen_tokens: u32 = args[4].parse().expect("GEN_TOKENS");
    let runs: usize = args[5].parse().expect("RUNS");

    let yaml = format!(
        "version: 1\ncache: {{ mode: off }}\nproviders:\n  local: {{ kind: local, model_path: \"{model}\", threads: {threads}, context_size: 2048, max_concurrency: 1 }}\nmodels:\n  local:\n    deployments: [{{ provider: local, model: smollm2 }}]\n"
    );
    let client = Client::builder()
        .config(Config::from_yaml(&yaml).expect("config"))
        .build()
        .expect("client");
    let request = || {
        let mut r = ChatRequest::new("local", vec![Message::user(prompt.trim())]);
        r.temperature = Some(0.0);
        r.max_tokens = Some(gen_tokens);
        // Generate exactly GEN_TOKENS: the end-of-turn token is never sampled.
        r.extra.insert("ignore_eos".into(), true.into());
        r
    };

    let mut results = Vec::new();
    let mut cold_ttft = None;
    for _ in 0..runs {
        let started = Instant::now();
        let mut stream = client
            .chat_stream(request(), &CallOptions::default())
            .await
            .expect("stream");
        let mut first = None;
        let mut usage = None;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.expect("chunk");
            if first.is_none() && !chunk.text().is_empty() {
                first = Some(started.elapsed());
                cold_ttft.get_or_insert(process_start.elapsed());
            }
            if chunk.usage.is_some() {
                usage = chunk.usage;
            }
        }
        let total = started.elapsed();
        let usage = usage.expect("usage");
        let ttft = first.expect("a token").as_secs_f64();
        let gen_time = total.as_secs_f64() - ttft;
        results.push(serde_json::json!({
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "ttft_s": ttft,
            "prompt_tps": usage.prompt_tokens as f64 / ttft,
            "gen_tps": (usage.completion_tokens.saturating_sub(1)) as f64 / gen_time,
        }));
    }
    let out = serde_json::json!({
        "engine": "switchyard-local",
        "cold_ttft_s": cold_ttft.map(|d| d.as_secs_f64()),
        "runs": results,
    });
    println!("{out}");
}
