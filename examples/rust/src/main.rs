//! The demo call: one chat completion through the Switchyard engine, printed with what the
//! pipeline did for it.
//!
//! The config comes from the management server when `SWITCHYARD_SERVER` and
//! `SWITCHYARD_API_KEY` are set (what `make run` does), else from the file given as the
//! first argument (default `examples/rust/switchyard.yaml`). With a file,
//! `SWITCHYARD_MOCK_URL` points the OpenAI provider at the mock provider instead of the
//! real API.

use std::process::ExitCode;

use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client, ConfigServer};

fn config_file() -> Result<Config, switchyard::Error> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/rust/switchyard.yaml".to_owned());
    let mut config = Config::from_file(&path)?;
    let mock = std::env::var("SWITCHYARD_MOCK_URL");
    if let (Ok(mock), Some(openai)) = (mock, config.providers.get_mut("openai")) {
        openai.base_url = Some(format!("{mock}/v1"));
        openai.api_key = Some(switchyard::config::Secret::new("sk-mock"));
    }
    Ok(config)
}

/// With a server, `build` waits (on a thread of its own) for the first config.
fn client() -> Result<Client, switchyard::Error> {
    let server = std::env::var("SWITCHYARD_SERVER").ok();
    let key = std::env::var("SWITCHYARD_API_KEY").ok();
    match (server, key) {
        (Some(url), Some(key)) => {
            println!("config: from the management server at {url}");
            Client::builder()
                .server(ConfigServer::new(url, key))
                .build()
        }
        _ => Client::builder().config(config_file()?).build(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let client = match client() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build the client: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut request = ChatRequest::new(
        "chat",
        vec![Message::user(
            "What is the capital of France? Answer in one sentence.",
        )],
    );
    request.temperature = Some(0.0);
    request.max_tokens = Some(48);
    let status = match client.chat(request, &CallOptions::default()).await {
        Ok(outcome) => {
            let meta = &outcome.meta;
            println!("{}", outcome.response.text().trim());
            println!(
                "-- answered by {} ({}{}) in {:.0} ms, {} attempt(s), {} tokens, ${:.6}{}",
                meta.deployment,
                meta.upstream_model,
                if meta.local { ", in-process" } else { "" },
                meta.latency.as_secs_f64() * 1000.0,
                meta.attempts,
                outcome
                    .response
                    .usage
                    .as_ref()
                    .map_or(0, |u| u.total_tokens),
                meta.cost_usd,
                meta.fallback
                    .as_ref()
                    .map(|f| format!(", after falling back to {f}"))
                    .unwrap_or_default(),
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("the call failed: {error}");
            ExitCode::FAILURE
        }
    };
    // Ships the call's usage event to the server (in server mode) before the process ends.
    client.shutdown().await;
    status
}
