//! OpenID Provider metadata from `{issuer}/.well-known/openid-configuration` (OpenID
//! Connect Discovery 1.0), cached per issuer with the issuer's signing keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::OidcError;
use super::jwks::{Jwk, KeySet};

/// How long discovered metadata is trusted before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The least time between two fetches of an issuer's keys for an unknown key id.
pub const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(10);

/// The members of the discovery document the sign-in uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// RFC 8628's endpoint, where the CLI's sign-in starts; absent when the provider does
    /// not offer the device authorization grant.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// One issuer: its metadata, and its keys behind a lock (one refetch at a time).
#[derive(Debug)]
pub struct Issuer {
    pub metadata: Metadata,
    discovered: Instant,
    keys: tokio::sync::Mutex<KeySet>,
}

impl Issuer {
    /// The signing key `kid` names; see [`KeySet::key`].
    pub async fn key(&self, cache: &ProviderCache, kid: Option<&str>) -> Result<Jwk, OidcError> {
        self.keys
            .lock()
            .await
            .key(&cache.http, &self.metadata.jwks_uri, kid, cache.min_refetch)
            .await
    }

    /// How many times this issuer's keys were fetched again for an unknown key id.
    pub async fn key_refetches(&self) -> u64 {
        self.keys.lock().await.refetches()
    }
}

/// Every issuer the server has talked to, by issuer URL.
#[derive(Debug)]
pub struct ProviderCache {
    pub(crate) http: reqwest::Client,
    min_refetch: Duration,
    issuers: Mutex<HashMap<String, Arc<Issuer>>>,
}

impl Default for ProviderCache {
    fn default() -> Self {
        ProviderCache::new(DEFAULT_MIN_REFETCH)
    }
}

impl ProviderCache {
    pub fn new(min_refetch: Duration) -> Self {
        ProviderCache {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            min_refetch,
            issuers: Mutex::default(),
        }
    }

    /// The HTTP client the sign-in talks to providers with (the token request too).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `issuer`'s metadata and keys, discovered now when not cached or cached too long.
    pub async fn issuer(&self, issuer: &str) -> Result<Arc<Issuer>, OidcError> {
        if let Some(found) = self.cached(issuer) {
            return Ok(found);
        }
        let metadata = discover(&self.http, issuer).await?;
        let fresh = Arc::new(Issuer {
            metadata,
            discovered: Instant::now(),
            keys: tokio::sync::Mutex::default(),
        });
        if let Ok(mut issuers) = self.issuers.lock() {
            issuers.insert(issuer.to_owned(), fresh.clone());
        }
        Ok(fresh)
    }

    fn cached(&self, issuer: &str) -> Option<Arc<Issuer>> {
        let issuers = self.issuers.lock().ok()?;
        issuers
            .get(issuer)
            .filter(|i| i.discovered.elapsed() < METADATA_TTL)
            .cloned()
    }
}

/// Fetches and checks the discovery document of `issuer`.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Metadata, OidcError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = http
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| OidcError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    let metadata: Metadata = response.json().await.map_err(|e| OidcError::Malformed {
        what: "discovery document",
        reason: e.to_string(),
    })?;
    if metadata.issuer != issuer {
        return Err(OidcError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: metadata.issuer,
        });
    }
    Ok(metadata)
}
