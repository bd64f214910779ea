//! The SDK's server mode against the real server: the config comes from
//! `/sdk/v1/config` with an app key, an activation reaches a running client through its
//! long-poll, a running client outlives the server, and a client that starts while the
//! server is down starts from its cache file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client, ConfigServer, ErrorKind};
use switchyard_mock_provider::{MockServer, Script};

use common::app::TestApp;
use common::sqlite_url;

fn document(mock: &str, models: &[&str]) -> Value {
    let models: serde_json::Map<String, Value> = models
        .iter()
        .map(|alias| {
            (
                (*alias).to_owned(),
                json!({"deployments": [{"provider": "mock", "model": "gpt-4o-mini"}]}),
            )
        })
        .collect();
    json!({
        "version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": format!("{mock}/v1")}},
        "models": models,
    })
}

/// `build` waits for the first config on a thread of its own; keep it off the runtime.
async fn build(server: ConfigServer) -> switchyard::Result<Client> {
    tokio::task::spawn_blocking(move || Client::builder().server(server).build())
        .await
        .unwrap()
}

async fn wait_for(client: &Client, alias: &str, within: Duration) -> Duration {
    let start = Instant::now();
    while !client.config().models.contains_key(alias) {
        assert!(
            start.elapsed() < within,
            "{alias} did not arrive within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_follows_the_servers_active_config() {
    let mock = MockServer::start_with(
        Script::from_yaml("models: { '*': [ { content: served } ] }").unwrap(),
    )
    .await
    .unwrap();
    let app = TestApp::new(&sqlite_url()).await;
    app.activate(&app.admin_a, document(&mock.url(), &["chat"]))
        .await;
    let key = app.app_key("checkout", None).await;
    let (url, serving) = app.listen().await;
    let cache = std::env::temp_dir().join(format!(
        "switchyard-config-cache-{}.json",
        switchyard_server::util::random_hex(6)
    ));

    // A wrong key is an auth error at build time, not a client with no config.
    let refused =
        build(ConfigServer::new(&url, "sy_not_a_key").start_timeout(Duration::from_secs(5)))
            .await
            .unwrap_err();
    assert_eq!(*refused.kind(), ErrorKind::Auth, "{refused}");

    // The long poll is held 30 s, so an arrival within 5 s can only be the server's push.
    let client = build(
        ConfigServer::new(&url, &key)
            .long_poll(Duration::from_secs(30))
            .cache_file(&cache),
    )
    .await
    .unwrap();
    assert_eq!(client.config().identity.app.as_deref(), Some("checkout"));
    let answer = client
        .chat(
            ChatRequest::new("chat", vec![Message::user("hi")]),
            &CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(answer.response.text(), "served");

    app.activate(&app.admin_a, document(&mock.url(), &["chat", "summarise"]))
        .await;
    let took = wait_for(&client, "summarise", Duration::from_secs(5)).await;
    eprintln!("activation reached the client in {took:?}");

    // The next activation replaces the model list whole.
    app.activate(&app.admin_a, document(&mock.url(), &["chat", "translate"]))
        .await;
    wait_for(&client, "translate", Duration::from_secs(5)).await;
    assert!(!client.config().models.contains_key("summarise"));

    // The server goes away: the running client keeps its config and keeps answering.
    serving.abort();
    let _ = serving.await;
    let answer = client
        .chat(
            ChatRequest::new("translate", vec![Message::user("hi")]),
            &CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(answer.response.text(), "served");

    // A client started now comes up from the cache file, with the last version.
    let restarted = build(
        ConfigServer::new(&url, &key)
            .start_timeout(Duration::from_secs(2))
            .cache_file(&cache),
    )
    .await
    .unwrap();
    assert!(restarted.config().models.contains_key("translate"));
    // Without one it cannot start, and says why.
    let down = build(ConfigServer::new(&url, &key).start_timeout(Duration::from_secs(2)))
        .await
        .unwrap_err();
    assert_eq!(*down.kind(), ErrorKind::Network, "{down}");
    let _ = std::fs::remove_file(&cache);
}
