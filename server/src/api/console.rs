//! `/ui`: the admin console, a single-page app whose built assets (`ui/dist`) are embedded
//! in the binary at build time (`build.rs`). Unknown paths under `/ui/` answer `index.html`
//! so the app's own router handles them; hashed assets are cached for a year.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::state::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// The answer when the binary was built without `ui/dist`.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Switchyard console</title></head><body><h1>The console was not built</h1>\
<p>Run <code>make ui</code>, then rebuild the server.</p></body></html>";

/// Vite writes content-hashed file names here; a changed file gets a new name.
const HASHED_PREFIX: &str = "assets/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| async { serve("") }))
        .route(
            "/ui/{*path}",
            get(|Path(path): Path<String>| async move { serve(&path) }),
        )
}

fn find(path: &str) -> Option<&'static [u8]> {
    embedded::ASSETS
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| embedded::ASSETS[i].1)
}

fn serve(path: &str) -> Response {
    if let Some(body) = find(path).filter(|_| !path.is_empty()) {
        let cache = if path.starts_with(HASHED_PREFIX) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return with_headers(StatusCode::OK, content_type(path), cache, body);
    }
    // A missing hashed asset is a stale page asking for an old build: no HTML for a script.
    if path.starts_with(HASHED_PREFIX) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match find("index.html") {
        Some(index) => with_headers(
            StatusCode::OK,
            "text/html; charset=utf-8",
            "no-cache",
            index,
        ),
        None => with_headers(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html; charset=utf-8",
            "no-cache",
            NOT_BUILT.as_bytes(),
        ),
    }
}

fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    cache: &'static str,
    body: &'static [u8],
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
