//! A scripted stand-in for the server's config endpoint (`GET /sdk/v1/config`): serves the
//! latest published document under its ETag and long-polls like the real one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tokio::sync::watch;

/// Serves the latest published document under its ETag, holding a request that already
/// has it until the next publication.
#[derive(Clone)]
pub struct FakeServer {
    pub published: watch::Sender<(String, Value)>,
    pub requests: Arc<AtomicUsize>,
    pub authorizations: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn config(State(server): State<FakeServer>, headers: HeaderMap) -> Response {
    server.requests.fetch_add(1, Ordering::SeqCst);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    server.authorizations.lock().unwrap().push(auth);
    let known = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut published = server.published.subscribe();
    loop {
        let (etag, document) = published.borrow_and_update().clone();
        if known.as_deref() != Some(etag.as_str()) {
            return (StatusCode::OK, [("etag", etag)], axum::Json(document)).into_response();
        }
        if tokio::time::timeout(Duration::from_secs(2), published.changed())
            .await
            .is_err()
        {
            return StatusCode::NOT_MODIFIED.into_response();
        }
    }
}

pub async fn start(first: Value) -> (String, FakeServer) {
    let (published, _) = watch::channel(("\"v1\"".to_owned(), first));
    let server = FakeServer {
        published,
        requests: Arc::default(),
        authorizations: Arc::default(),
    };
    let router = Router::new()
        .route("/sdk/v1/config", get(config))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, server)
}
