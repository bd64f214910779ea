//! Signing in (a session token for the web UI), personal API tokens, and `me`.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use super::extract::Json;
use super::principal::{Principal, record_failure, source_of};
use crate::auth::password::{dummy_hash, verify_password};
use crate::error::ApiError;
use crate::rbac::Permission;
use crate::state::AppState;
use crate::store::{AuditCtx, Binding, TokenKind};
use crate::util::now_ms;

/// How long a console session lasts, whichever way it was signed in.
pub(super) const SESSION_MS: i64 = 12 * 3600 * 1000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    tenant: String,
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    token: String,
    expires_at: Option<i64>,
}

/// The caller's address, for handlers that run before authentication.
pub struct Source(pub(super) String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Source(source_of(parts)))
    }
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses((status = 201, body = TokenResponse), (status = "4XX", body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Source(source): Source,
    Json(req): Json<LoginRequest>,
) -> Result<(StatusCode, axum::Json<TokenResponse>), ApiError> {
    let subject = format!("{}/{}", req.tenant, req.username);
    // The password is always verified (a valid one is accepted whatever failed before),
    // but an account with recent failures is verified at a bounded pace per address.
    // Held until the attempt is over: concurrent guesses count against the free failures.
    let Some(admission) = state.logins.admit(&subject, &source) else {
        return Err(refused_unverified(&state, &subject, &source).await);
    };
    if !admission.wait.is_zero() {
        tokio::time::sleep(admission.wait).await;
    }
    let record = state.store.login_record(&req.tenant, &req.username).await?;
    let hash = record
        .as_ref()
        .map(|r| r.2.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let tenant_id = record.as_ref().map(|r| r.0.clone());
    let Some((tenant_id, user_id, _, false)) = record.filter(|_| ok) else {
        state.logins.failed(&subject);
        let kind = "auth.failed.login";
        return Err(record_failure(&state, tenant_id.as_deref(), kind, &subject, &source).await);
    };
    if sso_required_for(&state, &tenant_id, &req.username).await? {
        // The right password, refused by the tenant's policy: not a guess, so the
        // account's pace is left alone; the event is kept.
        let _ = record_failure(
            &state,
            Some(&tenant_id),
            "auth.failed.login.sso_required",
            &subject,
            &source,
        )
        .await;
        return Err(ApiError::Forbidden);
    }
    let ctx = AuditCtx {
        actor: req.username.clone(),
        role: "user".into(),
        source,
    };
    let expires_at = Some(now_ms() + SESSION_MS);
    let (_, token) = state
        .store
        .tenant(&tenant_id)
        .create_token(&ctx, &user_id, TokenKind::Session, "session", expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TokenResponse { token, expires_at }),
    ))
}

/// An attempt refused before verification (its address has too many queued on a spaced
/// account): a security event, and 429.
async fn refused_unverified(state: &AppState, subject: &str, source: &str) -> ApiError {
    state.metrics.auth_failed();
    tracing::warn!(subject, source, "sign-in refused: too many queued attempts");
    if let Err(e) = state
        .store
        .record_security_event(None, "auth.rate_limited.login", subject, source)
        .await
    {
        tracing::error!(error = %e, "cannot record security event");
    }
    ApiError::RateLimited
}

/// Whether the tenant requires SSO of `username`: it has a provider with `sso_required`,
/// and the user is not one of its break-glass users. Asked only after the password
/// verified, so the answer tells nothing to someone without it.
async fn sso_required_for(
    state: &AppState,
    tenant_id: &str,
    username: &str,
) -> Result<bool, ApiError> {
    match state.store.tenant(tenant_id).get_sso().await {
        Ok(sso) => Ok(sso.sso_required && !sso.break_glass.iter().any(|u| u == username)),
        Err(crate::store::StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schema(schema_with = crate::schema_rules::name)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = crate::schema_rules::expiry_ms)]
    expires_at: Option<i64>,
}

/// A personal API token for the signed-in user, shown once.
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", request_body = NewToken, responses((status = 201, body = TokenResponse), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Json(req): Json<NewToken>,
) -> Result<(StatusCode, axum::Json<TokenResponse>), ApiError> {
    if req.expires_at.is_some_and(|e| e <= now_ms()) {
        return Err(ApiError::Invalid {
            field: Some("expires_at".into()),
            message: "must be in the future".into(),
        });
    }
    let ctx = AuditCtx {
        actor: principal.username.clone(),
        role: "user".into(),
        source: principal.source.clone(),
    };
    if principal.service {
        // A service gets its tokens from its provider; it has no user to hold one.
        return Err(ApiError::Forbidden);
    }
    let (_, token) = state
        .store
        .tenant(&principal.tenant_id)
        .create_token(
            &ctx,
            &principal.user_id,
            TokenKind::Personal,
            &req.name,
            req.expires_at,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TokenResponse {
            token,
            expires_at: req.expires_at,
        }),
    ))
}

/// Revokes the token this request carries: signing out of a session, or retiring a
/// personal token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    if principal.service {
        // The provider's token is not the server's to revoke; it expires there.
        return Err(ApiError::Forbidden);
    }
    let ctx = AuditCtx {
        actor: principal.username.clone(),
        role: "user".into(),
        source: principal.source.clone(),
    };
    state
        .store
        .tenant(&principal.tenant_id)
        .revoke_token(&ctx, &principal.user_id, &principal.token_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    tenant_id: String,
    user_id: String,
    username: String,
    /// May create and list tenants.
    operator: bool,
    bindings: Vec<Binding>,
    /// Every permission the caller holds at some scope (a department-scoped one may still
    /// be refused outside its departments): what the console shows.
    permissions: Vec<&'static str>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = "4XX", body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn me(principal: Principal) -> axum::Json<Me> {
    let permissions = Permission::ALL
        .into_iter()
        .filter(|p| principal.holds_somewhere(*p))
        .map(Permission::as_str)
        .collect();
    axum::Json(Me {
        permissions,
        tenant_id: principal.tenant_id,
        user_id: principal.user_id,
        username: principal.username,
        operator: principal.operator,
        bindings: principal.bindings,
    })
}
