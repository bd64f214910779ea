//! The console's sign-in through the tenant's OpenID provider: the authorization code
//! flow with PKCE (`docs/identity.md`). `start` keeps the sign-in's secrets server-side
//! and sends the browser to the provider; `callback` takes them back (once), exchanges
//! the code, validates the ID token, provisions the user, and hands the console the same
//! session token a password sign-in gives, in the URL's fragment.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::auth::Source;
use super::extract::Query;
use super::oidc_sign_in::{
    ProviderTokens, Refusal, client_request, sign_in, tenant_provider, unavailable,
};
use super::principal::record_failure;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{PendingLogin, SsoSettings};
use crate::util::{now_ms, random_hex};

/// How long a sign-in may take at the provider.
const PENDING_MS: i64 = 10 * 60 * 1000;
/// The cookie that ties a sign-in's `state` to the browser that started it, so that a
/// callback URL made by someone else (login CSRF: signing a victim in as the attacker)
/// is refused.
const STATE_COOKIE: &str = "switchyard_oidc_state";

/// The `state` the browser's cookie holds, if any.
fn cookie_state(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == STATE_COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    /// The tenant's name, as on the login page.
    tenant: String,
    /// Where the console goes after signing in: a path under `/ui/` (default `/ui/`).
    #[serde(default)]
    return_to: Option<String>,
}

/// A path of the console, never another site (no open redirect).
fn check_return_to(path: Option<String>) -> Result<String, ApiError> {
    let path = path.unwrap_or_else(|| "/ui/".to_owned());
    let ours = (path == "/ui" || path.starts_with("/ui/"))
        && !path.contains("//")
        && !path.contains('\\')
        && !path.contains('#')
        && !path.chars().any(char::is_control);
    if ours {
        Ok(path)
    } else {
        Err(ApiError::Invalid {
            field: Some("return_to".into()),
            message: "must be a path under /ui/".into(),
        })
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProviderQuery {
    tenant: String,
}

/// What the login page shows on its "Sign in with …" button.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderInfo {
    /// The issuer's host, e.g. `login.example.com`.
    name: String,
    /// Local passwords are refused but for break-glass users.
    sso_required: bool,
}

/// Whether the tenant signs in through a provider (404 when not): for the login page,
/// before anyone is signed in.
#[utoipa::path(get, path = "/api/v1/auth/oidc/provider", tag = "auth", params(ProviderQuery), responses((status = 200, body = ProviderInfo), (status = "4XX", body = crate::error::ErrorBody)))]
pub async fn provider(
    State(state): State<AppState>,
    Query(q): Query<ProviderQuery>,
) -> Result<axum::Json<ProviderInfo>, ApiError> {
    let tenant = state.store.tenant_by_name(&q.tenant).await?;
    let sso = state.store.tenant(&tenant.id).get_sso().await?;
    let name = reqwest::Url::parse(&sso.issuer)
        .ok()
        .and_then(|u| u.host_str().map(String::from))
        .unwrap_or(sso.issuer);
    Ok(axum::Json(ProviderInfo {
        name,
        sso_required: sso.sso_required,
    }))
}

/// Starts a sign-in: redirects to the tenant's provider.
#[utoipa::path(get, path = "/api/v1/auth/oidc/start", tag = "auth", params(StartQuery), responses((status = 303, description = "to the identity provider"), (status = "4XX", body = crate::error::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Query(q): Query<StartQuery>,
) -> Result<Response, ApiError> {
    let return_to = check_return_to(q.return_to)?;
    let tenant = state.store.tenant_by_name(&q.tenant).await?;
    let sso = state.store.tenant(&tenant.id).get_sso().await?;
    let issuer = state.oidc.issuer(&sso.issuer).await.map_err(unavailable)?;
    let login = PendingLogin {
        tenant_id: tenant.id,
        nonce: random_hex(16),
        code_verifier: random_hex(32),
        return_to,
    };
    let sign_in_state = random_hex(16);
    state
        .store
        .put_sso_login(&sign_in_state, &login, now_ms() + PENDING_MS)
        .await?;
    let challenge = B64URL.encode(sha2::Sha256::digest(login.code_verifier.as_bytes()));
    let mut url =
        reqwest::Url::parse(&issuer.metadata.authorization_endpoint).map_err(unavailable)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &sso.client_id)
        .append_pair("redirect_uri", &sso.redirect_uri)
        .append_pair("scope", &sso.scopes.join(" "))
        .append_pair("state", &sign_in_state)
        .append_pair("nonce", &login.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    // SameSite=Lax: sent on the provider's top-level redirect back, not on cross-site
    // sub-requests.
    let cookie = format!(
        "{STATE_COOKIE}={sign_in_state}; Path=/api/v1/auth/oidc; Max-Age={}; HttpOnly; SameSite=Lax",
        PENDING_MS / 1000
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to(url.as_str())).into_response())
}

/// What the provider sends the browser back with. Not `deny_unknown_fields`: providers
/// add their own parameters (`session_state`, `iss`).
#[derive(Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code: Option<String>,
    /// The provider refused or the user cancelled.
    #[serde(default)]
    error: Option<String>,
    /// RFC 9207: the issuer that answers; checked when present (mix-up attacks).
    #[serde(default)]
    iss: Option<String>,
}

/// Exchanges the code at the token endpoint (client secret by HTTP basic, or a public
/// client's id in the form), with the PKCE verifier.
async fn exchange(
    state: &AppState,
    sso: &SsoSettings,
    token_endpoint: &str,
    secret: Option<&str>,
    code: &str,
    verifier: &str,
) -> Result<String, Refusal> {
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", sso.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ];
    let response = client_request(state, token_endpoint, sso, secret, form)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "token endpoint unreachable");
            Refusal("auth.failed.oidc.provider")
        })?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        tracing::warn!(%status, body, "the token endpoint refused the code");
        return Err(Refusal("auth.failed.oidc.code"));
    }
    let tokens: ProviderTokens = response
        .json()
        .await
        .map_err(|_| Refusal("auth.failed.oidc.malformed"))?;
    Ok(tokens.id_token)
}

/// Everything after the pending sign-in was found: the session token, or why not.
async fn complete(
    state: &AppState,
    login: &PendingLogin,
    q: &CallbackQuery,
    source: &str,
) -> Result<String, Refusal> {
    if q.error.is_some() {
        return Err(Refusal("auth.failed.oidc.denied"));
    }
    let code = q.code.as_deref().ok_or(Refusal("auth.failed.oidc.code"))?;
    let provider = tenant_provider(state, &login.tenant_id).await?;
    let sso = &provider.sso;
    if q.iss.as_deref().is_some_and(|iss| iss != sso.issuer) {
        return Err(Refusal("auth.failed.oidc.issuer"));
    }
    let id_token = exchange(
        state,
        sso,
        &provider.issuer.metadata.token_endpoint,
        provider.secret.as_deref(),
        code,
        &login.code_verifier,
    )
    .await?;
    let signed_in = sign_in(
        state,
        &login.tenant_id,
        sso,
        &id_token,
        Some(&login.nonce),
        source,
        "sso session",
    )
    .await?;
    Ok(signed_in.token)
}

/// The provider's redirect back: to the console with `#token=…`, or `#sso_error=…`.
#[utoipa::path(get, path = "/api/v1/auth/oidc/callback", tag = "auth", params(CallbackQuery), responses((status = 303, description = "to the console, the session token in the fragment"), (status = "4XX", body = crate::error::ErrorBody)))]
pub async fn callback(
    State(state): State<AppState>,
    Source(source): Source,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let presented = q.state.clone().unwrap_or_default();
    let subject = format!("state:{}", presented.chars().take(8).collect::<String>());
    if cookie_state(&headers).as_deref() != Some(presented.as_str()) {
        // Not the browser that started this sign-in. The pending sign-in is left alone:
        // its own browser may still finish it.
        return Err(
            record_failure(&state, None, "auth.failed.oidc.browser", &subject, &source).await,
        );
    }
    let Some(login) = state.store.take_sso_login(&presented).await? else {
        // Unknown, expired, or already used: a replay, or a forged callback.
        return Err(
            record_failure(&state, None, "auth.failed.oidc.state", &subject, &source).await,
        );
    };
    let to = match complete(&state, &login, &q, &source).await {
        Ok(token) => format!("{}#token={token}", login.return_to),
        Err(refusal) => {
            // The redirect carries the refusal; the failure still counts.
            let _ =
                record_failure(&state, Some(&login.tenant_id), refusal.0, &subject, &source).await;
            format!("{}#sso_error={}", login.return_to, refusal.reason())
        }
    };
    // The cookie has served: expire it.
    let expire =
        format!("{STATE_COOKIE}=; Path=/api/v1/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax");
    Ok(([(SET_COOKIE, expire)], Redirect::to(&to)).into_response())
}
