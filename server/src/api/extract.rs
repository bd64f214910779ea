//! Strict request decoding: JSON bodies only as `application/json`, within the size
//! limit, into types that reject unknown fields; every failure names the field. Query
//! strings likewise.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::util::percent_decode;

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
/// itself).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| error_at(e.path().to_string(), e.inner()))?;
    de.end()
        .map_err(|e| ApiError::bad("", format!("trailing characters: {e}")))?;
    Ok(value)
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
    let map: serde_json::Map<String, serde_json::Value> = url_pairs(query)
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

/// For numeric query parameters, which arrive as text: `#[serde(deserialize_with = ...)]`.
pub fn int_param<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(d)?;
    text.map(|t| {
        t.parse::<i64>()
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got `{t}`")))
    })
    .transpose()
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
