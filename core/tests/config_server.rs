//! The SDK side of server mode against a scripted config server: what it sends, and what
//! it does with a version it cannot run. (`server/tests/sdk_client.rs` runs it against
//! the real server.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/config_server.rs"]
mod config_server;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use config_server::start;
use serde_json::{Value, json};
use switchyard::{Client, ConfigServer, ErrorKind};

fn document(models: &[(&str, f64)]) -> Value {
    let models: serde_json::Map<String, Value> = models
        .iter()
        .map(|(alias, weight)| {
            (
                (*alias).to_owned(),
                json!({"deployments": [{"provider": "p", "model": "m", "weight": weight}]}),
            )
        })
        .collect();
    json!({"version": 1, "providers": {"p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}}, "models": models})
}

async fn build(server: ConfigServer) -> switchyard::Result<Client> {
    tokio::task::spawn_blocking(move || Client::builder().server(server).build())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_version_keeps_the_running_config_and_is_not_fetched_again() {
    let (url, server) = start(document(&[("chat", 1.0)])).await;
    let client = build(ConfigServer::new(&url, "sy_test").long_poll(Duration::from_secs(1)))
        .await
        .unwrap();
    assert!(client.config().models.contains_key("chat"));
    assert_eq!(server.authorizations.lock().unwrap()[0], "Bearer sy_test");

    // A weight of 0 fails core's validator: the SDK refuses it and keeps "chat".
    server
        .published
        .send_replace(("\"v2\"".into(), document(&[("broken", 0.0)])));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.requests.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(client.config().models.contains_key("chat"));
    assert!(!client.config().models.contains_key("broken"));
    // Its ETag was taken, so the poller waits for a newer version instead of looping.
    let polls = server.requests.load(Ordering::SeqCst) - before;
    assert!(polls <= 2, "{polls} requests in 1.5 s with a 1 s long-poll");

    server
        .published
        .send_replace(("\"v3\"".into(), document(&[("summarise", 1.0)])));
    let start = Instant::now();
    while !client.config().models.contains_key("summarise") {
        assert!(start.elapsed() < Duration::from_secs(3), "v3 never applied");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!client.config().models.contains_key("chat"));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_key_from_an_unset_variable_fails_before_any_request() {
    let (url, server) = start(document(&[("chat", 1.0)])).await;
    let error = build(ConfigServer::new(&url, "${SWITCHYARD_TEST_UNSET_APP_KEY}"))
        .await
        .unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Auth);
    assert!(
        error.to_string().contains("SWITCHYARD_TEST_UNSET_APP_KEY"),
        "{error}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_sends_no_config_is_a_clear_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().route(
        "/sdk/v1/config",
        get(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": "not_found", "message": "not found"})),
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let error = build(ConfigServer::new(&url, "sy_test")).await.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Unavailable);
    assert!(error.to_string().contains("no active config"), "{error}");
}
