//! Google Vertex AI: its paths (`projects/{p}/locations/{l}/publishers/{google|anthropic}/
//! models/{model}:{action}`), the OAuth token endpoint a service account's JWT is traded
//! at, `:predict` embeddings, and the access-token check on every call.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::embedding;
use crate::respond::next_id;
use crate::script::Step;

/// Tokens this mock hands out start so; a call must present one.
const TOKEN_PREFIX: &str = "ya29.mock-";

/// Which publisher a Vertex path names, its model and its action.
pub(crate) fn split_path(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/v1/projects/")?;
    let (_, rest) = rest.split_once("/locations/")?;
    let (_, rest) = rest.split_once("/publishers/")?;
    let (publisher, rest) = rest.split_once("/models/")?;
    let (model, action) = rest.rsplit_once(':')?;
    (!model.is_empty() && !model.contains('/')).then_some((publisher, model, action))
}

/// Whether the `Authorization` header carries a token this mock issued.
pub(crate) fn authorized(authorization: Option<&str>) -> bool {
    authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| t.starts_with(TOKEN_PREFIX))
}

/// Google's answer to a call without a valid access token.
pub(crate) fn unauthenticated() -> Value {
    json!({"error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        "status": "UNAUTHENTICATED"
    }})
}

/// The token endpoint: checks the JWT-bearer grant and its RS256 assertion's shape and
/// claims (the signature is not verified), and answers a token with `expires_in`.
pub(crate) fn token(raw: &[u8]) -> (u16, Value) {
    match check_grant(&String::from_utf8_lossy(raw)) {
        Ok(()) => (
            200,
            json!({"access_token": format!("{TOKEN_PREFIX}{}", next_id()), "expires_in": 3599, "token_type": "Bearer"}),
        ),
        Err(why) => (
            400,
            json!({"error": "invalid_grant", "error_description": why}),
        ),
    }
}

fn check_grant(form: &str) -> Result<(), String> {
    let field = |name: &str| {
        form.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    if field("grant_type") != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return Err("Invalid grant_type".into());
    }
    let assertion = field("assertion").ok_or("Missing assertion")?;
    let parts: Vec<&str> = assertion.split('.').collect();
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| format!("Invalid JWT: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("Invalid JWT: {e}"))
    };
    if parts.len() != 3 || parts[2].is_empty() {
        return Err("Invalid JWT: three parts expected".into());
    }
    let header = decode(parts[0])?;
    let claims = decode(parts[1])?;
    if header["alg"] != "RS256" {
        return Err("Invalid JWT Signature.".into());
    }
    let well_formed = ["iss", "aud", "scope"]
        .iter()
        .all(|k| claims[k].as_str().is_some_and(|v| !v.is_empty()))
        && claims["exp"].as_u64() > claims["iat"].as_u64();
    if !well_formed {
        return Err("Invalid JWT: iss, aud, scope, iat and exp are required".into());
    }
    Ok(())
}

/// `:predict` for a text-embedding model: one prediction per instance.
pub(crate) fn predict(body: &Value, step: &Step) -> Value {
    let dims = step
        .dimensions
        .or_else(|| {
            body.pointer("/parameters/outputDimensionality")
                .and_then(Value::as_u64)
                .map(|d| d as usize)
        })
        .unwrap_or(8);
    let predictions: Vec<Value> = body
        .get("instances")
        .and_then(Value::as_array)
        .map(|instances| {
            instances
                .iter()
                .map(|i| {
                    let text = i.get("content").and_then(Value::as_str).unwrap_or_default();
                    json!({"embeddings": {
                        "values": embedding::vector(text, dims),
                        "statistics": {"token_count": text.chars().count().div_ceil(4), "truncated": false}
                    }})
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"predictions": predictions, "metadata": {"billableCharacterCount": 0}})
}
