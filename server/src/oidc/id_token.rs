//! ID token validation (OpenID Connect Core 1.0, 3.1.3.7): the JWS signature against the
//! issuer's published key, then `iss`, `aud` and `azp`, `exp`/`iat`/`nbf` with a small
//! leeway, and the `nonce` the sign-in sent. Every refusal is a [`TokenError`] whose
//! [`TokenError::event_kind`] names the security event it is recorded as.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::discovery::{Issuer, ProviderCache};
use super::{Jwk, OidcError};

/// Clock skew tolerated between the server and the provider, in seconds.
pub const LEEWAY_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the ID token is malformed: {0}")]
    Malformed(String),
    /// `none`, HMAC, or an algorithm this server does not verify.
    #[error("the ID token's algorithm {0} is not accepted")]
    Algorithm(String),
    /// The key the `kid` names is not of the token's algorithm.
    #[error("the signing key does not fit algorithm {0}")]
    KeyMismatch(String),
    #[error("the ID token's signature does not verify")]
    Signature,
    #[error(transparent)]
    Key(#[from] OidcError),
    #[error("the ID token was issued by {found}, not {expected}")]
    Issuer { expected: String, found: String },
    #[error("the ID token is not for this client")]
    Audience,
    #[error("the ID token's authorized party is {0:?}, not this client")]
    AuthorizedParty(Option<String>),
    #[error("the ID token expired")]
    Expired,
    #[error("the ID token is not valid yet")]
    NotYetValid,
    #[error("the ID token's nonce does not match the sign-in's")]
    Nonce,
}

impl TokenError {
    /// The security event a refusal is recorded as (`GET /api/v1/security-events`).
    pub fn event_kind(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "auth.failed.oidc.malformed",
            TokenError::Algorithm(_) | TokenError::KeyMismatch(_) => "auth.failed.oidc.algorithm",
            TokenError::Signature => "auth.failed.oidc.signature",
            TokenError::Key(OidcError::UnknownKey { .. }) => "auth.failed.oidc.unknown_key",
            TokenError::Key(_) => "auth.failed.oidc.provider",
            TokenError::Issuer { .. } => "auth.failed.oidc.issuer",
            TokenError::Audience | TokenError::AuthorizedParty(_) => "auth.failed.oidc.audience",
            TokenError::Expired | TokenError::NotYetValid => "auth.failed.oidc.expired",
            TokenError::Nonce => "auth.failed.oidc.nonce",
        }
    }
}

/// What the token must say.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce the sign-in sent; `None` where none was sent (client credentials).
    pub nonce: Option<&'a str>,
    /// A JWT access token (RFC 9068) rather than an ID token: `client_id` is the
    /// audience (the API), and `azp` names the calling client, so it is not checked.
    pub access_token: bool,
    /// Unix seconds.
    pub now: i64,
}

/// The validated token's claims: the standard ones, and all of them for the groups claim.
#[derive(Debug, Clone)]
pub struct IdClaims {
    pub sub: String,
    pub iss: String,
    pub exp: i64,
    pub claims: Map<String, Value>,
}

impl IdClaims {
    /// A string claim (`preferred_username`, `email`), when present.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A list of strings claim (`groups`); a single string counts as a list of one.
    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.claims.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

/// The token's three parts, its header decoded.
struct Parts<'a> {
    header: Header,
    signed: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    let malformed = |m: &str| TokenError::Malformed(m.to_owned());
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(malformed(
            "not three parts (an encrypted token is not accepted)",
        ));
    };
    let header: Header = serde_json::from_slice(
        &B64URL
            .decode(h)
            .map_err(|_| malformed("header not base64url"))?,
    )
    .map_err(|e| TokenError::Malformed(format!("header: {e}")))?;
    let signature = B64URL
        .decode(s)
        .map_err(|_| malformed("signature not base64url"))?;
    Ok(Parts {
        header,
        signed: &token[..h.len() + 1 + p.len()],
        payload: p,
        signature,
    })
}

fn b64_field(value: &Option<String>, alg: &str) -> Result<Vec<u8>, TokenError> {
    value
        .as_deref()
        .and_then(|v| B64URL.decode(v).ok())
        .ok_or_else(|| TokenError::KeyMismatch(alg.to_owned()))
}

/// Verifies `signed` against `signature` with `jwk` under `alg`.
pub fn verify_signature(alg: &str, jwk: &Jwk, signed: &[u8], sig: &[u8]) -> Result<(), TokenError> {
    if jwk.alg.as_deref().is_some_and(|a| a != alg) {
        return Err(TokenError::KeyMismatch(alg.to_owned()));
    }
    let rsa: Option<&'static signature::RsaParameters> = match alg {
        "RS256" => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => Some(&signature::RSA_PSS_2048_8192_SHA256),
        _ => None,
    };
    if let Some(params) = rsa {
        if jwk.kty != "RSA" {
            return Err(TokenError::KeyMismatch(alg.to_owned()));
        }
        let key = RsaPublicKeyComponents {
            n: b64_field(&jwk.n, alg)?,
            e: b64_field(&jwk.e, alg)?,
        };
        return key
            .verify(params, signed, sig)
            .map_err(|_| TokenError::Signature);
    }
    let (ec, curve): (&'static signature::EcdsaVerificationAlgorithm, &str) = match alg {
        "ES256" => (&signature::ECDSA_P256_SHA256_FIXED, "P-256"),
        "ES384" => (&signature::ECDSA_P384_SHA384_FIXED, "P-384"),
        other => return Err(TokenError::Algorithm(other.to_owned())),
    };
    if jwk.kty != "EC" || jwk.crv.as_deref() != Some(curve) {
        return Err(TokenError::KeyMismatch(alg.to_owned()));
    }
    let mut point = vec![0x04];
    point.extend(b64_field(&jwk.x, alg)?);
    point.extend(b64_field(&jwk.y, alg)?);
    UnparsedPublicKey::new(ec, point)
        .verify(signed, sig)
        .map_err(|_| TokenError::Signature)
}

/// The audience claim: one string or a list.
fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| TokenError::Malformed(format!("{name} is not a number"))),
    }
}

/// The payload of a JWS as it claims to be, before any check: only to pick the issuer
/// and tenant whose keys and rules then validate it.
pub fn unverified_claims(token: &str) -> Result<Map<String, Value>, TokenError> {
    let parts = split(token)?;
    serde_json::from_slice(
        &B64URL
            .decode(parts.payload)
            .map_err(|_| TokenError::Malformed("payload not base64url".into()))?,
    )
    .map_err(|e| TokenError::Malformed(format!("payload: {e}")))
}

/// The audience claim: one string or a list, for callers outside this module.
pub fn audience_of(claims: &Map<String, Value>) -> Vec<&str> {
    audiences(claims)
}

/// Checks the claims of a token whose signature verified.
pub fn check_claims(
    claims: Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<IdClaims, TokenError> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != expected.issuer {
        return Err(TokenError::Issuer {
            expected: expected.issuer.to_owned(),
            found: iss.to_owned(),
        });
    }
    let aud = audiences(&claims);
    if !aud.contains(&expected.client_id) {
        return Err(TokenError::Audience);
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if !expected.access_token && (aud.len() > 1 || azp.is_some()) && azp != Some(expected.client_id)
    {
        return Err(TokenError::AuthorizedParty(azp.map(String::from)));
    }
    let now = expected.now;
    let exp = seconds(&claims, "exp")?.ok_or_else(|| TokenError::Malformed("no exp".into()))?;
    if now >= exp + LEEWAY_SECS {
        return Err(TokenError::Expired);
    }
    let iat = seconds(&claims, "iat")?.ok_or_else(|| TokenError::Malformed("no iat".into()))?;
    if iat > now + LEEWAY_SECS {
        return Err(TokenError::NotYetValid);
    }
    if seconds(&claims, "nbf")?.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
        return Err(TokenError::NotYetValid);
    }
    if let Some(nonce) = expected.nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
    {
        return Err(TokenError::Nonce);
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| TokenError::Malformed("no sub".into()))?
        .to_owned();
    Ok(IdClaims {
        sub,
        iss: iss.to_owned(),
        exp,
        claims,
    })
}

/// Validates `token` from `issuer`: its key (refetched for an unknown `kid`, see
/// [`Issuer::key`]), its signature, then its claims.
pub async fn validate(
    token: &str,
    issuer: &Issuer,
    cache: &ProviderCache,
    expected: &Expected<'_>,
) -> Result<IdClaims, TokenError> {
    let parts = split(token)?;
    let alg = parts.header.alg.as_str();
    // Refused before any key is looked up: `none` or HMAC must not cost a refetch.
    if !matches!(
        alg,
        "RS256" | "RS384" | "RS512" | "PS256" | "ES256" | "ES384"
    ) {
        return Err(TokenError::Algorithm(alg.to_owned()));
    }
    let key = issuer.key(cache, parts.header.kid.as_deref()).await?;
    verified(&parts, &key, expected)
}

/// [`validate`] with the key already in hand.
pub fn validate_with_key(
    token: &str,
    key: &Jwk,
    expected: &Expected<'_>,
) -> Result<IdClaims, TokenError> {
    verified(&split(token)?, key, expected)
}

fn verified(parts: &Parts<'_>, key: &Jwk, expected: &Expected<'_>) -> Result<IdClaims, TokenError> {
    verify_signature(
        &parts.header.alg,
        key,
        parts.signed.as_bytes(),
        &parts.signature,
    )?;
    let claims: Map<String, Value> = serde_json::from_slice(
        &B64URL
            .decode(parts.payload)
            .map_err(|_| TokenError::Malformed("payload not base64url".into()))?,
    )
    .map_err(|e| TokenError::Malformed(format!("payload: {e}")))?;
    check_claims(claims, expected)
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair};
    use serde_json::json;

    use super::*;

    /// A 2048-bit RSA key made with openssl for these tests only (PKCS#1 DER, base64).
    const RSA_PKCS1_DER: &str = "MIIEowIBAAKCAQEAk4wFU8E2jF7nljucje9QJ/1vIUY5dZkW5Ux1OwvtamF0XIUKd/mjWNk561i6FZCT/araNE7oXqHBYIzidZlOK21jrLsH6nYFaDB12MDDlAaqs0AR30kK7PKpBQ6qi8hDW/HWxwom4CbB7CWaICNcgvKuNCes6LTSQ/YXJm8sHWRUNHa2AJjCbwmTfb0Qj0gH9dK8YVU/laXpUbTSQIkg9ZjWFWoHdwcNbaJ1MwMnSXUpuO9PsGNGQwiMm+yPZqlKl0H9w6Xob2C8nmyrL/SS1/bLVLM9hENeBHdQmh7hi2+wc7+rPH43spZXtRzUP5jfwM3fcdV+GIEhSsW9GjK1SwIDAQABAoIBAAQb1RYk/kDgb7CGTnDBZkkGzK5vhzAYKEQQYf9X8K+SsSvWZJk8sWjK+8rq+JubIBPjSxpDzEK+XGU05yWBNGUPMcRgnPLRgIsLNmznyUp4+Q3uzdCa9xvsEfrbErK7y+xmiqWWScjaK3JJBca5VV0sJt+67xy31FciJjjixaa31rEE4GbTDVbqn3gDqDZetk/1DGh9HVxeNyj7/P2AI5msTHbHxVy9kjNzUEHrXSDFJQrN5Jq1ZH5gHAE37taQ3PMwqn10Nypqsk8SsWHu4yraZiZQpSvH2wLwsUhIKn5ymXYVXTlpb6yvmMUOQ6+zmuiUr/o5n5qchTUJ2pQNXFECgYEAxcWIByPfgo4zK35jqCJt7Nhjs7J4xJZRZ1kfvqUGTHndslrlHj7w5bHTeU7rIv7GsUb1E4H74SyExlZF118i+7v0dAOXOs+oPNLTvyrpIgz3yXQr27KYmUaui+UrMIW0+1hge08kd/a9iBtWFfJ1B+FQlY7SpmAYGbsRIkpI1RMCgYEAvvzzQMoA6BI4H4bWFGW1ZhFRzkD0EU2plHWLroqo+Gt5MQskzadVSWV3xkYO5G5F2jks9Ppc2JDjqyc4dKC+6AdDM+K/DlMCmjL6oQaMwlQax/vpOaQTBW+xc6HP0BO+XgqQPWzEWFWwfQcvbIbAcZZStRF/bg+kq+JRfBr3/ekCgYEAqWlC07L0BDbhOFGk9mK/vRHDniu0bdnB04Cxw7JDCgGeWeiouVb7Lhc86n4ix7Bs7XC2AMbox4NGHUvLuejB49emWDa3Neap26hRQEF2wPdQzp2X8DM1qp60aBuf+omedWvIAfjSaXzP8CZSgKxXea+VQve8FE7edjQbQj9V0kcCgYBaqG27kmfNwWA8rt+N/R2XXp9LXY+9avUVUJrGdnFwwmtbuWN173lPhsfNKVJGYoXr6XoKq5FJB7Xad5qX2fnk4BWpWnfAj+zLT2mi6B4G3K99wHlb8CNLUFKWhffEWKrjrvX7AldNaxeEsdV0GZ7eDDIkWzL3BpvvL1XoqFCRiQKBgAz0WiRQOcg5VIr1l4ZHTpJhmX9RynX64q7l3LnWT76rmItJyGO7//dbPydwEywm8sNL4/cY7aR8rzT4Zf/D3IntEX8EEsq2+QCQW6KkShxXksn2I+cS82R0HO7XKk3Bv57m56eKQFfkf2szaCrQGhc5OehCFSUrbrd5rIqqp0Uw";

    const ISSUER: &str = "https://idp.example.com";
    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISSUER,
            client_id: "switchyard",
            nonce: Some("n-1"),
            access_token: false,
            now: NOW,
        }
    }

    fn claims() -> Value {
        json!({"iss": ISSUER, "aud": "switchyard", "sub": "alice", "nonce": "n-1",
               "iat": NOW - 10, "exp": NOW + 300, "groups": ["ops", "ml"]})
    }

    fn b64(bytes: &[u8]) -> String {
        B64URL.encode(bytes)
    }

    /// A signer and its public JWK.
    enum Signer {
        Rsa(RsaKeyPair),
        Ec(EcdsaKeyPair),
    }

    impl Signer {
        fn rsa() -> Signer {
            let der = base64::engine::general_purpose::STANDARD
                .decode(RSA_PKCS1_DER)
                .unwrap();
            Signer::Rsa(RsaKeyPair::from_der(&der).unwrap())
        }

        fn ec() -> Signer {
            let rng = SystemRandom::new();
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            Signer::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
                    .unwrap(),
            )
        }

        fn alg(&self) -> &'static str {
            match self {
                Signer::Rsa(_) => "RS256",
                Signer::Ec(_) => "ES256",
            }
        }

        fn jwk(&self, kid: &str) -> Jwk {
            let mut jwk = Jwk {
                kty: String::new(),
                kid: Some(kid.to_owned()),
                alg: Some(self.alg().to_owned()),
                use_: Some("sig".into()),
                n: None,
                e: None,
                crv: None,
                x: None,
                y: None,
            };
            match self {
                Signer::Rsa(pair) => {
                    let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                    jwk.kty = "RSA".into();
                    jwk.n = Some(b64(&public.n));
                    jwk.e = Some(b64(&public.e));
                }
                Signer::Ec(pair) => {
                    let point = pair.public_key().as_ref();
                    jwk.kty = "EC".into();
                    jwk.crv = Some("P-256".into());
                    jwk.x = Some(b64(&point[1..33]));
                    jwk.y = Some(b64(&point[33..65]));
                }
            }
            jwk
        }

        fn sign_with_alg(&self, alg: &str, claims: &Value) -> String {
            let header = json!({"alg": alg, "kid": "k1", "typ": "JWT"});
            let signed = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let rng = SystemRandom::new();
            let sig = match self {
                Signer::Rsa(pair) => {
                    let mut sig = vec![0; pair.public().modulus_len()];
                    pair.sign(
                        &ring::signature::RSA_PKCS1_SHA256,
                        &rng,
                        signed.as_bytes(),
                        &mut sig,
                    )
                    .unwrap();
                    sig
                }
                Signer::Ec(pair) => pair
                    .sign(&rng, signed.as_bytes())
                    .unwrap()
                    .as_ref()
                    .to_vec(),
            };
            format!("{signed}.{}", b64(&sig))
        }

        fn sign(&self, claims: &Value) -> String {
            self.sign_with_alg(self.alg(), claims)
        }
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut c = claims();
        change(c.as_object_mut().unwrap());
        c
    }

    #[test]
    fn a_good_token_validates_under_rs256_and_es256() {
        for signer in [Signer::rsa(), Signer::ec()] {
            let token = signer.sign(&claims());
            let got = validate_with_key(&token, &signer.jwk("k1"), &expected()).unwrap();
            assert_eq!(got.sub, "alice");
            assert_eq!(got.strings("groups"), ["ops", "ml"]);
        }
    }

    #[test]
    fn a_wrong_signature_is_refused() {
        // Signed by another key of the same type.
        let token = Signer::ec().sign(&claims());
        let err = validate_with_key(&token, &Signer::ec().jwk("k1"), &expected()).unwrap_err();
        assert!(matches!(err, TokenError::Signature), "{err}");
        // A payload changed after signing.
        for signer in [Signer::rsa(), Signer::ec()] {
            let token = signer.sign(&claims());
            let mut parts: Vec<String> = token.split('.').map(String::from).collect();
            let forged = with(|c| {
                c.insert("groups".into(), json!(["admins"]));
            });
            parts[1] = b64(forged.to_string().as_bytes());
            let err =
                validate_with_key(&parts.join("."), &signer.jwk("k1"), &expected()).unwrap_err();
            assert!(matches!(err, TokenError::Signature), "{err}");
            assert_eq!(err.event_kind(), "auth.failed.oidc.signature");
        }
    }

    #[test]
    fn none_hmac_and_a_key_of_another_type_are_refused() {
        let rsa = Signer::rsa();
        let header = b64(br#"{"alg":"none"}"#);
        let body = b64(claims().to_string().as_bytes());
        let err = validate_with_key(&format!("{header}.{body}."), &rsa.jwk("k1"), &expected())
            .unwrap_err();
        assert!(
            matches!(err, TokenError::KeyMismatch(_) | TokenError::Algorithm(_)),
            "{err}"
        );
        let mut key = rsa.jwk("k1");
        key.alg = None;
        let err = validate_with_key(&format!("{header}.{body}."), &key, &expected()).unwrap_err();
        assert!(matches!(err, TokenError::Algorithm(_)), "{err}");
        // An ES256 header against an RSA key.
        let ec = Signer::ec();
        let token = ec.sign(&claims());
        let err = validate_with_key(&token, &key, &expected()).unwrap_err();
        assert!(matches!(err, TokenError::KeyMismatch(_)), "{err}");
        // The key says RS256; the token says RS384.
        let token = rsa.sign_with_alg("RS384", &claims());
        let err = validate_with_key(&token, &rsa.jwk("k1"), &expected()).unwrap_err();
        assert!(matches!(err, TokenError::KeyMismatch(_)), "{err}");
        let err = validate_with_key("a.b", &rsa.jwk("k1"), &expected()).unwrap_err();
        assert!(matches!(err, TokenError::Malformed(_)), "{err}");
    }

    #[test]
    fn issuer_audience_and_authorized_party_are_checked() {
        let s = Signer::ec();
        let key = s.jwk("k1");
        type Is = fn(&TokenError) -> bool;
        let cases: Vec<(Value, Is)> = vec![
            (
                with(|c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }),
                |e| matches!(e, TokenError::Issuer { .. }),
            ),
            (
                with(|c| {
                    c.insert("iss".into(), json!("https://idp.example.com/"));
                }),
                |e| matches!(e, TokenError::Issuer { .. }),
            ),
            (
                with(|c| {
                    c.insert("aud".into(), json!("another-client"));
                }),
                |e| matches!(e, TokenError::Audience),
            ),
            (
                with(|c| {
                    c.remove("aud");
                }),
                |e| matches!(e, TokenError::Audience),
            ),
            (
                with(|c| {
                    c.insert("aud".into(), json!(["switchyard", "other"]));
                }),
                |e| matches!(e, TokenError::AuthorizedParty(None)),
            ),
            (
                with(|c| {
                    c.insert("aud".into(), json!(["switchyard", "other"]));
                    c.insert("azp".into(), json!("other"));
                }),
                |e| matches!(e, TokenError::AuthorizedParty(Some(_))),
            ),
        ];
        for (claims, is) in cases {
            let err = validate_with_key(&s.sign(&claims), &key, &expected()).unwrap_err();
            assert!(is(&err), "{claims}: {err}");
        }
        let several = with(|c| {
            c.insert("aud".into(), json!(["other", "switchyard"]));
            c.insert("azp".into(), json!("switchyard"));
        });
        assert!(validate_with_key(&s.sign(&several), &key, &expected()).is_ok());
    }

    #[test]
    fn times_are_checked_with_a_small_leeway() {
        let s = Signer::ec();
        let key = s.jwk("k1");
        let check = |claims: Value| validate_with_key(&s.sign(&claims), &key, &expected());
        assert!(
            check(with(|c| {
                c.insert("exp".into(), json!(NOW - LEEWAY_SECS + 1));
            }))
            .is_ok()
        );
        let err = check(with(|c| {
            c.insert("exp".into(), json!(NOW - LEEWAY_SECS));
        }))
        .unwrap_err();
        assert!(matches!(err, TokenError::Expired), "{err}");
        assert_eq!(err.event_kind(), "auth.failed.oidc.expired");
        let err = check(with(|c| {
            c.insert("iat".into(), json!(NOW + LEEWAY_SECS + 1));
        }))
        .unwrap_err();
        assert!(matches!(err, TokenError::NotYetValid), "{err}");
        let err = check(with(|c| {
            c.insert("nbf".into(), json!(NOW + LEEWAY_SECS + 1));
        }))
        .unwrap_err();
        assert!(matches!(err, TokenError::NotYetValid), "{err}");
        assert!(
            check(with(|c| {
                c.insert("nbf".into(), json!(NOW + LEEWAY_SECS));
            }))
            .is_ok()
        );
        let err = check(with(|c| {
            c.remove("exp");
        }))
        .unwrap_err();
        assert!(matches!(err, TokenError::Malformed(_)), "{err}");
    }

    #[test]
    fn the_nonce_must_be_the_sign_ins() {
        let s = Signer::rsa();
        let key = s.jwk("k1");
        for claims in [
            with(|c| {
                c.insert("nonce".into(), json!("n-2"));
            }),
            with(|c| {
                c.remove("nonce");
            }),
        ] {
            let err = validate_with_key(&s.sign(&claims), &key, &expected()).unwrap_err();
            assert!(matches!(err, TokenError::Nonce), "{err}");
            assert_eq!(err.event_kind(), "auth.failed.oidc.nonce");
        }
        // No nonce expected (a client-credentials token): none is checked.
        let no_nonce = Expected {
            nonce: None,
            ..expected()
        };
        assert!(
            validate_with_key(
                &s.sign(&with(|c| {
                    c.remove("nonce");
                })),
                &key,
                &no_nonce
            )
            .is_ok()
        );
    }
    /// An access token (RFC 9068): `azp` names the calling client, not the audience, and
    /// is not compared; the audience still is.
    #[test]
    fn an_access_token_is_checked_for_its_audience_not_its_azp() {
        let s = Signer::rsa();
        let key = s.jwk("k1");
        let access = Expected {
            nonce: None,
            access_token: true,
            ..expected()
        };
        let token = s.sign(&with(|c| {
            c.remove("nonce");
            c.insert("azp".into(), json!("billing-batch"));
        }));
        assert!(validate_with_key(&token, &key, &access).is_ok());
        let err = validate_with_key(
            &token,
            &key,
            &Expected {
                nonce: None,
                ..expected()
            },
        )
        .unwrap_err();
        assert!(matches!(err, TokenError::AuthorizedParty(_)), "{err}");
        let other = s.sign(&with(|c| {
            c.insert("aud".into(), json!("https://another.test/api"));
        }));
        let err = validate_with_key(&other, &key, &access).unwrap_err();
        assert!(matches!(err, TokenError::Audience), "{err}");
    }
}
