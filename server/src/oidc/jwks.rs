//! A provider's signing keys (its JWKS), kept per issuer and refetched when a token names
//! a key id not seen yet: that is how a key rotation at the provider keeps sign-in
//! working. Refetches are spaced by a minimum interval, so tokens with made-up key ids
//! cannot make the server hammer the provider.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::OidcError;

/// One public key of a JWKS (RFC 7517); the members the verifier reads.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    /// `sig` or `enc`; keys for encryption are never used to verify.
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// RSA modulus and exponent, base64url.
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    /// EC curve and point, base64url.
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

/// The keys last fetched from one `jwks_uri`, and when.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
    refetches: u64,
}

impl KeySet {
    fn find(&self, kid: Option<&str>) -> Option<Jwk> {
        let signing = self
            .keys
            .iter()
            .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"));
        match kid {
            Some(kid) => signing.into_iter().find(|k| k.kid.as_deref() == Some(kid)),
            // A token without `kid` is only accepted from a provider with a single key.
            None => {
                let all: Vec<&Jwk> = signing.collect();
                match all.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            }
        }
        .cloned()
    }

    /// How many times the keys were fetched again after the first time.
    pub fn refetches(&self) -> u64 {
        self.refetches
    }

    /// The key `kid` names, fetching the set when it was never fetched, or again when
    /// `kid` is unknown and the last fetch is at least `min_refetch` old.
    pub async fn key(
        &mut self,
        http: &reqwest::Client,
        jwks_uri: &str,
        kid: Option<&str>,
        min_refetch: Duration,
    ) -> Result<Jwk, OidcError> {
        if self.fetched.is_some()
            && let Some(key) = self.find(kid)
        {
            return Ok(key);
        }
        let may_fetch = self.fetched.is_none_or(|at| at.elapsed() >= min_refetch);
        if !may_fetch {
            tracing::debug!(
                ?kid,
                "unknown signing key, but the keys were fetched moments ago"
            );
            return Err(OidcError::UnknownKey {
                kid: kid.map(String::from),
            });
        }
        if self.fetched.is_some() {
            self.refetches += 1;
            tracing::info!(
                ?kid,
                jwks_uri,
                "unknown signing key: fetching the provider's keys again"
            );
        }
        self.keys = fetch(http, jwks_uri).await?;
        self.fetched = Some(Instant::now());
        self.find(kid).ok_or_else(|| OidcError::UnknownKey {
            kid: kid.map(String::from),
        })
    }
}

/// The key set at `jwks_uri`. Keys of a type this server cannot read are skipped, not
/// fatal: a provider may publish encryption or other keys beside its signing keys.
async fn fetch(http: &reqwest::Client, jwks_uri: &str) -> Result<Vec<Jwk>, OidcError> {
    let unreachable = |reason: String| OidcError::Unreachable {
        url: jwks_uri.to_owned(),
        reason,
    };
    let response = http
        .get(jwks_uri)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| unreachable(e.to_string()))?;
    let set: JwkSet = response.json().await.map_err(|e| OidcError::Malformed {
        what: "key set",
        reason: e.to_string(),
    })?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value(k).ok())
        .collect())
}
