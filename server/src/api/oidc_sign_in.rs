//! What the console's code flow and the CLI's device flow share once the provider has
//! answered: the client's authentication at the provider, and an ID token turned into a
//! session (validated, the person provisioned, the group rules applied, the session
//! issued and audited), or the reason it was refused.

use std::sync::Arc;

use crate::error::ApiError;
use crate::oidc::Issuer;
use crate::oidc::id_token::{Expected, IdClaims, TokenError, validate};
use crate::state::AppState;
use crate::store::{AuditCtx, SsoSettings, StoreError, TokenKind};
use crate::util::now_ms;

use super::auth::SESSION_MS;

/// Why a sign-in was refused: the security event it is recorded as
/// (`auth.failed.oidc.<why>`).
pub(super) struct Refusal(pub(super) &'static str);

impl Refusal {
    /// The reason the console or the CLI is told: the event kind without its prefix.
    pub(super) fn reason(&self) -> &'static str {
        self.0.trim_start_matches("auth.failed.oidc.")
    }
}

impl From<TokenError> for Refusal {
    fn from(e: TokenError) -> Self {
        tracing::warn!(error = %e, "ID token refused");
        Refusal(e.event_kind())
    }
}

/// The provider could not be used (unreachable, an answer not as the standard says): 503.
pub(super) fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(format!("the identity provider: {e}"))
}

/// The member of the provider's token response a sign-in uses.
#[derive(serde::Deserialize)]
pub(super) struct ProviderTokens {
    pub id_token: String,
}

/// A request to the provider's token or device authorization endpoint, authenticated as
/// the tenant's client: its secret by HTTP basic, or, for a public client, its id in the
/// form.
pub(super) fn client_request<'a>(
    state: &AppState,
    url: &str,
    sso: &'a SsoSettings,
    secret: Option<&str>,
    mut form: Vec<(&'a str, &'a str)>,
) -> reqwest::RequestBuilder {
    let mut req = state.oidc.http().post(url);
    match secret {
        Some(secret) => req = req.basic_auth(&sso.client_id, Some(secret)),
        None => form.push(("client_id", sso.client_id.as_str())),
    }
    req.form(&form)
}

/// A tenant's provider as a sign-in in progress needs it.
pub(super) struct TenantProvider {
    pub sso: SsoSettings,
    pub issuer: Arc<Issuer>,
    /// The client secret, unsealed; `None` for a public client.
    pub secret: Option<String>,
}

/// The settings, discovered metadata and client secret of `tenant_id`'s provider.
pub(super) async fn tenant_provider(
    state: &AppState,
    tenant_id: &str,
) -> Result<TenantProvider, Refusal> {
    let tenant = state.store.tenant(tenant_id);
    let sso = tenant.get_sso().await.map_err(internal)?;
    let issuer = state
        .oidc
        .issuer(&sso.issuer)
        .await
        .map_err(|_| Refusal("auth.failed.oidc.provider"))?;
    let secret = tenant
        .open_sso_secret(state.master_key.as_deref())
        .await
        .map_err(internal)?;
    Ok(TenantProvider {
        sso,
        issuer,
        secret,
    })
}

fn internal(e: StoreError) -> Refusal {
    tracing::error!(error = %e, "SSO sign-in");
    Refusal("auth.failed.oidc.internal")
}

/// A session made from a validated ID token.
pub(super) struct SignedIn {
    pub token: String,
    pub username: String,
    pub expires_at: i64,
}

/// Validates `id_token` (with `nonce` when the flow sent one), maps the person to a user
/// of the tenant (provisioned the first time), applies the group rules, and issues a
/// session token named `label`.
pub(super) async fn sign_in(
    state: &AppState,
    tenant_id: &str,
    sso: &SsoSettings,
    id_token: &str,
    nonce: Option<&str>,
    source: &str,
    label: &str,
) -> Result<SignedIn, Refusal> {
    let tenant = state.store.tenant(tenant_id);
    let issuer = state
        .oidc
        .issuer(&sso.issuer)
        .await
        .map_err(|_| Refusal("auth.failed.oidc.provider"))?;
    let expected = Expected {
        issuer: &sso.issuer,
        client_id: &sso.client_id,
        nonce,
        access_token: false,
        now: now_ms() / 1000,
    };
    let claims: IdClaims = validate(id_token, &issuer, &state.oidc, &expected).await?;
    let username = claims
        .string("preferred_username")
        .or_else(|| claims.string("email"))
        .unwrap_or(&claims.sub)
        .to_owned();
    let ctx = AuditCtx {
        actor: username.clone(),
        role: "user".into(),
        source: source.to_owned(),
    };
    let user = tenant
        .sso_user(
            &ctx,
            &sso.issuer,
            &claims.sub,
            &username,
            claims.string("name"),
        )
        .await
        .map_err(internal)?;
    if user.disabled {
        return Err(Refusal("auth.failed.oidc.disabled"));
    }
    let ctx = AuditCtx {
        actor: user.username.clone(),
        ..ctx
    };
    tenant
        .apply_group_rules(&ctx, &user.id, &claims.strings(&sso.groups_claim))
        .await
        .map_err(internal)?;
    let expires_at = now_ms() + SESSION_MS;
    let (_, token) = tenant
        .create_token(&ctx, &user.id, TokenKind::Session, label, Some(expires_at))
        .await
        .map_err(internal)?;
    Ok(SignedIn {
        token,
        username: user.username,
        expires_at,
    })
}
