//! The demo call: one chat completion through the Switchyard engine, printed with what the
//! pipeline did for it. `make run` points it at the mock provider; with `OPENAI_API_KEY`
//! set it calls OpenAI instead.

use std::process::ExitCode;

use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};

fn config() -> Result<Config, switchyard::config::ConfigError> {
    let (base_url, api_key) = match std::env::var("OPENAI_API_KEY") {
        Ok(_) => (
            "https://api.openai.com/v1".to_owned(),
            "${OPENAI_API_KEY}".to_owned(),
        ),
        Err(_) => {
            let mock = std::env::var("SWITCHYARD_MOCK_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:8089".into());
            (format!("{mock}/v1"), "sk-demo".to_owned())
        }
    };
    Config::from_yaml(&format!(
        r#"
version: 1
identity: {{ tenant: demo, app: example }}
providers:
  openai: {{ kind: openai, base_url: "{base_url}", api_key: "{api_key}" }}
models:
  chat:
    deployments: [{{ provider: openai, model: gpt-4o-mini }}]
    retry: {{ max_attempts: 3 }}
"#
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let client = match config()
        .map_err(switchyard::Error::from)
        .and_then(|c| Client::builder().config(c).build())
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build the client: {error}");
            return ExitCode::FAILURE;
        }
    };
    let request = ChatRequest::new(
        "chat",
        vec![Message::user(
            "What is the capital of France? Answer in one sentence.",
        )],
    );
    match client.chat(request, &CallOptions::default()).await {
        Ok(outcome) => {
            let meta = &outcome.meta;
            println!("{}", outcome.response.text());
            println!(
                "-- answered by {} ({}) in {:.1} ms, {} attempt(s), {} tokens, ${:.6}",
                meta.deployment,
                meta.upstream_model,
                meta.latency.as_secs_f64() * 1000.0,
                meta.attempts,
                outcome
                    .response
                    .usage
                    .as_ref()
                    .map_or(0, |u| u.total_tokens),
                meta.cost_usd,
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("the call failed: {error}");
            ExitCode::FAILURE
        }
    }
}
