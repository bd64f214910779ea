//! Strict request decoding: JSON bodies only as `application/json`, within the size
//! limit, into types that reject unknown fields; every failure names the field. Query
//! strings and path ids likewise. No text may hold a NUL character: PostgreSQL cannot
//! store one, so it is refused here as bad input rather than failing in the database.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::util::percent_decode;

/// For numeric query parameters, which arrive as text: the SDK protocol's own decoder,
/// so the SDK's query and the management API's read numbers alike.
pub use switchyard::sdk_protocol::int_param;

/// A JSON body of `T`.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad("", rejection.body_text())
            }
        })?;
        decode(&bytes).map(Json)
    }
}

/// Decodes JSON, naming the offending field (for an unknown or missing field: that field
/// itself; for a string holding NUL, that string's field).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // JSON can carry NUL only as the escape `\u0000`: the full walk runs only when it appears.
    if bytes.windows(6).any(|w| w == b"\\u0000") {
        if let Some(path) = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| nul_at(&v, ""))
        {
            return Err(ApiError::bad(path, NUL_MESSAGE));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| error_at(e.path().to_string(), e.inner()))?;
    de.end()
        .map_err(|e| ApiError::bad("", format!("trailing characters: {e}")))?;
    Ok(value)
}

const NUL_MESSAGE: &str = "must not contain NUL characters";

/// The path (`bindings[0].role`) of the first string or key holding NUL, if any.
fn nul_at(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0').then(|| path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_at(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(path.to_owned())
            } else {
                nul_at(v, &here)
            }
        }),
        _ => None,
    }
}

fn error_at(path: String, inner: &serde_json::Error) -> ApiError {
    let message = inner.to_string();
    let mut field = if path == "." { String::new() } else { path };
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|r| r.split('`').next());
    if let Some(name) = named {
        if !field.ends_with(name) {
            field = if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            };
        }
    }
    ApiError::bad(field, message)
}

/// The `{id}` of a route. An id that is not UTF-8 or holds NUL names nothing that can
/// exist: 404, as any unknown id (axum's own rejection would be a plain-text 400, and a
/// NUL would reach PostgreSQL, which refuses it).
pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound)?;
        if id.contains('\0') {
            return Err(ApiError::NotFound);
        }
        Ok(Id(id))
    }
}

/// Query parameters of `T`, rejected with the offending parameter named.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        decode_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// Decodes a query string; a repeated parameter keeps its last value.
pub fn decode_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = url_pairs(query);
    if let Some((k, _)) = pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        let field = if k.contains('\0') { "" } else { k.as_str() };
        return Err(ApiError::bad(field, NUL_MESSAGE));
    }
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    serde_path_to_error::deserialize(serde_json::Value::Object(map))
        .map_err(|e| error_at(e.path().to_string(), e.inner()))
}

/// `a=1&b=x%20y` into pairs, percent-decoded.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// A PATCH field that can be set but not cleared: absent leaves it alone (`None`), and
/// `null` is refused naming the field. `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A PATCH field that can be cleared: absent is `None` (leave it), `null` is
/// `Some(None)` (clear it), a value is `Some(Some(v))`.
/// `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
