//! The OpenAI-compatible gateway under `/v1`: chat completions (streamed or not),
//! embeddings and models, answered by an in-process core `Client` per app built from the
//! same resolved config the app's SDKs get, with provider keys filled in server-side.
//! The gateway holds no pipeline logic: routing, retries, fallbacks, cache, budgets,
//! limits and telemetry are the engine's. See `docs/gateway.md`.

mod call;
pub(crate) mod chat;
mod clients;
pub(crate) mod embeddings;
mod error;
mod leases;
pub(crate) mod models;
mod options;
mod respond;
mod sse;

use axum::Router;
use axum::routing::{get, post};

pub use clients::GatewayClients;
pub use error::{ErrorEnvelope, ErrorObject, GatewayError};

use crate::state::AppState;

/// Request bodies above this are refused with 413 before they are read in full. Larger
/// than the management API's limit: a chat body carries whole conversations and images
/// as data URLs.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The `/v1` routes, to be nested under `/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat/completions", post(chat::completions))
        .route("/embeddings", post(embeddings::create))
        .route("/models", get(models::list))
        .route("/models/{id}", get(models::retrieve))
        .fallback(|| async { respond::unrouted() })
}
