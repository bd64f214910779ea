//! Client lifecycle behaviour that a scenario file cannot express: the config file watcher,
//! and a caller dropping a call's future mid-flight.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use switchyard::config::Config;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

fn config_text(base: &str, model: &str) -> String {
    format!(
        "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{base}/v1\" }} }}\n\
         models: {{ chat: {{ deployments: [{{ provider: oa, model: {model} }}], retry: {{ max_attempts: 1 }} }} }}\n"
    )
}

fn hello() -> ChatRequest {
    ChatRequest::new("chat", vec![Message::user("hi")])
}

async fn wait_for(mut condition: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn the_watched_file_reloads_and_a_broken_one_is_refused() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let mock = MockServer::start_with(Script::from_yaml("models: { '*': [ {} ] }").unwrap())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("switchyard-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switchyard.yaml");
    std::fs::write(&path, config_text(&mock.url(), "model-one")).unwrap();
    let client = Client::builder()
        .config_file(&path)
        .watch_config_file(Duration::from_millis(25))
        .build()
        .unwrap();
    let answer = client.chat(hello(), &CallOptions::default()).await.unwrap();
    assert_eq!(answer.meta.upstream_model, "model-one");

    std::fs::write(&path, config_text(&mock.url(), "model-two")).unwrap();
    let first = |c: &Client| c.config().models["chat"].deployments[0].model.clone();
    assert!(
        wait_for(|| first(&client) == "model-two").await,
        "the new file was not picked up"
    );
    let answer = client.chat(hello(), &CallOptions::default()).await.unwrap();
    assert_eq!(answer.meta.upstream_model, "model-two");

    std::fs::write(&path, "version: 1\nmodels: { chat: { deployments: [] } }\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        first(&client),
        "model-two",
        "an invalid file must not replace the running config"
    );
    client.chat(hello(), &CallOptions::default()).await.unwrap();
    client.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn dropping_a_call_closes_the_upstream_request_and_releases_its_budget() {
    let mock = MockServer::start_with(
        Script::from_yaml("models: { slow: [ { latency_ms: 5000 } ], fast: [ { usage: { prompt_tokens: 1, completion_tokens: 1 } } ] }").unwrap(),
    )
    .await
    .unwrap();
    // Each call reserves about $0.02; the budget holds one reservation at a time.
    let config = Config::from_yaml(&format!(
        "version: 1\nidentity: {{ tenant: t }}\nproviders: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
         models:\n  slow: {{ deployments: [{{ provider: oa, model: slow, price: {{ input: 1000, output: 1000 }} }}] }}\n\
         \x20 fast: {{ deployments: [{{ provider: oa, model: fast, price: {{ input: 1000, output: 1000 }} }}] }}\n\
         budgets: [{{ name: day, scope: tenant, period: day, limit_usd: 0.03 }}]\n",
        mock.url()
    ))
    .unwrap();
    let client = Client::builder().config(config).build().unwrap();
    let mut slow = ChatRequest::new("slow", vec![Message::user("hi")]);
    slow.max_tokens = Some(10);
    let started = Instant::now();
    let dropped = tokio::time::timeout(
        Duration::from_millis(200),
        client.chat(slow, &CallOptions::default()),
    )
    .await;
    assert!(
        dropped.is_err(),
        "the slow call should still be running when dropped"
    );
    assert!(started.elapsed() < Duration::from_secs(1));

    let mut fast = ChatRequest::new("fast", vec![Message::user("hi")]);
    fast.max_tokens = Some(10);
    let answer = client.chat(fast, &CallOptions::default()).await;
    assert!(
        answer.is_ok(),
        "the dropped call's reservation must be released: {answer:?}"
    );
    assert_eq!(mock.counters().models.get("slow"), Some(&1));
}

#[tokio::test]
async fn a_budget_too_tight_for_the_prompt_bound_admits_by_the_exact_count() {
    let mock = MockServer::start_with(
        Script::from_yaml(
            "models: { gpt-4o: [ { usage: { prompt_tokens: 1000, completion_tokens: 1 } } ] }",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    // $1000 per 1M tokens: "hello " x 1000 is ~1,000 tokens ($1) but 6,000 bytes, so its
    // byte bound ($6) does not fit a $2 budget while its exact count does.
    let config = Config::from_yaml(&format!(
        "version: 1\nidentity: {{ tenant: t }}\nproviders: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
         models:\n  chat: {{ deployments: [{{ provider: oa, model: gpt-4o, price: {{ input: 1000, output: 1000 }} }}] }}\n\
         budgets: [{{ name: day, scope: tenant, period: day, limit_usd: 2.0 }}]\n",
        mock.url()
    ))
    .unwrap();
    let client = Client::builder().config(config).build().unwrap();
    let ask = |words: usize| {
        let mut request = ChatRequest::new("chat", vec![Message::user("hello ".repeat(words))]);
        request.max_tokens = Some(1);
        request
    };
    let first = client.chat(ask(1000), &CallOptions::default()).await;
    assert!(first.is_ok(), "the exact count fits the budget: {first:?}");
    // $1 spent; ~3,000 tokens ($3) fit neither by bound nor exactly.
    let second = client
        .chat(ask(3000), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(second.code(), "budget_exceeded", "{second}");
    assert_eq!(mock.counters().models.get("gpt-4o"), Some(&1));
}
