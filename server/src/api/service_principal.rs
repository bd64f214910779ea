//! Service identities (`docs/identity.md`): a JWT access token from a tenant's OpenID
//! provider (client credentials) presented as `Authorization: Bearer` on the management
//! API, turned into a [`Principal`] with the roles the tenant's `client` rules give it.

use serde_json::Value;

use super::principal::{Principal, record_failure};
use crate::error::ApiError;
use crate::oidc::id_token::{Expected, TokenError, audience_of, unverified_claims, validate};
use crate::state::AppState;
use crate::util::now_ms;

/// The server's own tokens and keys have no dots; a JWS compact serialization is three
/// base64url parts joined by two. A token of that shape is never looked up as a
/// personal token.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Why a service token was refused: the security event, and the tenant when known.
struct Refusal {
    kind: &'static str,
    tenant: Option<String>,
}

impl Refusal {
    fn new(kind: &'static str, tenant: Option<&str>) -> Self {
        Refusal {
            kind,
            tenant: tenant.map(String::from),
        }
    }
}

/// The calling client: `client_id` (RFC 9068), else `azp`, else `sub`.
fn client_of(claims: &serde_json::Map<String, Value>) -> Option<String> {
    ["client_id", "azp", "sub"]
        .iter()
        .find_map(|c| claims.get(*c).and_then(Value::as_str))
        .filter(|c| !c.is_empty())
        .map(String::from)
}

/// Validates `token` and builds the service's principal; every refusal is recorded as a
/// security event and answered 401 (429 once the source or the token is over its limit).
pub async fn authenticate(
    state: &AppState,
    token: &str,
    subject: &str,
    source: &str,
) -> Result<Principal, ApiError> {
    match principal(state, token, source).await {
        Ok(p) => Ok(p),
        Err(r) => Err(record_failure(state, r.tenant.as_deref(), r.kind, subject, source).await),
    }
}

async fn principal(state: &AppState, token: &str, source: &str) -> Result<Principal, Refusal> {
    let refused = |e: TokenError, tenant: Option<&str>| {
        tracing::warn!(error = %e, "service token refused");
        Refusal::new(e.event_kind(), tenant)
    };
    let claimed = unverified_claims(token).map_err(|e| refused(e, None))?;
    let iss = claimed
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let candidates = state.store.service_audiences(iss).await.map_err(|e| {
        tracing::error!(error = %e, "service token: tenant lookup");
        Refusal::new("auth.failed.oidc.internal", None)
    })?;
    if candidates.is_empty() {
        return Err(Refusal::new("auth.failed.oidc.issuer", None));
    }
    // The tenant is the one whose (issuer, api_audience) the token names. Two tenants
    // with the same issuer and audience cannot be told apart: refused, never guessed.
    let aud = audience_of(&claimed);
    let matching: Vec<&(String, String)> = candidates
        .iter()
        .filter(|(_, a)| aud.contains(&a.as_str()))
        .collect();
    let (tenant_id, audience) = match matching.as_slice() {
        [one] => (one.0.as_str(), one.1.as_str()),
        [] if candidates.len() == 1 => {
            return Err(Refusal::new(
                "auth.failed.oidc.audience",
                Some(&candidates[0].0),
            ));
        }
        [] => return Err(Refusal::new("auth.failed.oidc.audience", None)),
        _ => return Err(Refusal::new("auth.failed.oidc.ambiguous", None)),
    };
    let issuer = state
        .oidc
        .issuer(iss)
        .await
        .map_err(|_| Refusal::new("auth.failed.oidc.provider", Some(tenant_id)))?;
    let expected = Expected {
        issuer: iss,
        client_id: audience,
        nonce: None,
        access_token: true,
        now: now_ms() / 1000,
    };
    let claims = validate(token, &issuer, &state.oidc, &expected)
        .await
        .map_err(|e| refused(e, Some(tenant_id)))?;
    let client = client_of(&claims.claims)
        .ok_or_else(|| Refusal::new("auth.failed.oidc.malformed", Some(tenant_id)))?;
    let bindings = state
        .store
        .tenant(tenant_id)
        .client_bindings(&client)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "service token: rules");
            Refusal::new("auth.failed.oidc.internal", Some(tenant_id))
        })?;
    let name = format!("service:{client}");
    Ok(Principal {
        token_id: format!("jwt:{}", claims.string("jti").unwrap_or(&claims.sub)),
        tenant_id: tenant_id.to_owned(),
        user_id: name.clone(),
        username: name,
        operator: false,
        bindings,
        source: source.to_owned(),
        service: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_are_told_from_the_servers_tokens() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("sy_pat_abcdef0123456789"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a..c"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a+b.c.d"));
    }
}
