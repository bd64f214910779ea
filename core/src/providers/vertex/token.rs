//! Access tokens for a Google service account: a JWT signed RS256 with the account's key
//! (`ring`, already built for rustls), exchanged at the key's `token_uri`, cached and
//! refreshed a minute before expiry, one refresh at a time.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Client;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::config::Secret;
use crate::error::{Error, ErrorKind, Result};
use crate::providers::http::transport_error;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// A token is renewed this long before it expires, so no request carries a stale one.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Where the service-account key comes from, in order.
#[derive(Debug, Clone, Default)]
pub struct KeySource {
    pub file: Option<String>,
    pub json: Option<Secret>,
}

/// The fields of a service-account key file that signing needs.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default = "default_token_uri")]
    token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Hands out a valid access token, fetching a new one only when the cached one is about
/// to expire; concurrent callers wait on the one refresh under way.
#[derive(Debug)]
pub struct TokenSource {
    provider: String,
    source: KeySource,
    client: Client,
    cached: Mutex<Option<(String, Instant)>>,
}

fn auth(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Auth, message)
}

impl TokenSource {
    pub fn new(provider: &str, source: KeySource, client: Client) -> Self {
        TokenSource {
            provider: provider.to_owned(),
            source,
            client,
            cached: Mutex::new(None),
        }
    }

    pub async fn token(&self) -> Result<String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() + REFRESH_MARGIN < *expires
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self
            .fetch()
            .await
            .map_err(|e| e.with_provider(self.provider.clone()))?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// The key's JSON: the entry's file, its inline JSON, then `GOOGLE_APPLICATION_CREDENTIALS`.
    fn key_json(&self) -> Result<String> {
        let env_file = || {
            std::env::var("GOOGLE_APPLICATION_CREDENTIALS")
                .ok()
                .filter(|v| !v.is_empty())
        };
        let inline = match &self.source.json {
            Some(json) => Some(json.resolve().ok_or_else(|| {
                auth(format!(
                    "the service-account key comes from {}, which is not set or empty",
                    json.masked()
                ))
            })?),
            None => None,
        };
        // `credentials` holds the key itself, or (as LiteLLM's vertex_credentials may) its path.
        if let Some(text) = &inline
            && text.trim_start().starts_with('{')
        {
            return Ok(text.clone());
        }
        let path = inline
            .or_else(|| self.source.file.clone())
            .or_else(env_file)
            .ok_or_else(|| {
                auth(
                    "no Google credentials: set credentials_file or credentials on the provider, \
                 or GOOGLE_APPLICATION_CREDENTIALS",
                )
            })?;
        std::fs::read_to_string(&path).map_err(|e| {
            auth(format!(
                "cannot read the service-account key file {path}: {e}"
            ))
        })
    }

    async fn fetch(&self) -> Result<(String, Duration)> {
        let key: ServiceAccountKey = serde_json::from_str(&self.key_json()?)
            .map_err(|e| auth(format!("the service-account key is not a key file: {e}")))?;
        let assertion = signed_jwt(&key, SystemTime::now())?;
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let response = self
            .client
            .post(&key.token_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_error)?;
        if !status.is_success() {
            let text: String = String::from_utf8_lossy(&bytes).chars().take(500).collect();
            let kind = if status.is_server_error() {
                ErrorKind::Upstream {
                    status: status.as_u16(),
                }
            } else {
                ErrorKind::Auth
            };
            return Err(Error::new(
                kind,
                format!("the token endpoint refused the service account: {text}"),
            ));
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes)
            .map_err(|e| Error::malformed(200, format!("unreadable token answer: {e}")))?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        Ok((answer.access_token, lifetime))
    }
}

/// The `iss`/`scope`/`aud`/`iat`/`exp` assertion Google's token endpoint takes.
fn signed_jwt(key: &ServiceAccountKey, now: SystemTime) -> Result<String> {
    let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"iss": key.client_email, "scope": SCOPE, "aud": key.token_uri,
               "iat": iat, "exp": iat + 3600})
        .to_string(),
    );
    let message = format!("{header}.{claims}");
    let der = pem_to_der(&key.private_key)?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| auth(format!("the service-account private key is unusable: {e}")))?;
    let mut signature = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .map_err(|_| auth("signing the token request failed"))?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The DER inside a `-----BEGIN PRIVATE KEY-----` (PKCS#8) block.
fn pem_to_der(pem: &str) -> Result<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| auth(format!("the service-account private key is not PEM: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RSA key made for these tests only (`openssl genpkey -algorithm RSA`).
    pub const TEST_KEY: &str =
        include_str!("../../../../tests/conformance/fixtures/vertex-test-key.pem");

    #[test]
    fn the_assertion_is_a_verifiable_rs256_jwt() {
        let key = ServiceAccountKey {
            client_email: "svc@test-project.iam.gserviceaccount.com".into(),
            private_key: TEST_KEY.into(),
            token_uri: "http://127.0.0.1:1/token".into(),
        };
        let jwt = signed_jwt(&key, UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "http://127.0.0.1:1/token");
        assert_eq!(claims["exp"], 1_700_003_600);
        let der = pem_to_der(TEST_KEY).unwrap();
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            ring::signature::KeyPair::public_key(&pair)
                .as_ref()
                .to_vec(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
    }
}
