//! Request identities. [`Principal`] is a user (session or personal token) or a service
//! (a provider's JWT access token, see [`super::service_principal`]) with role bindings;
//! [`AppCaller`] is an SDK instance holding an app key. Both check the credential first
//! and serve a valid one whatever failures its address or key prefix has had (nobody can
//! lock anybody out); each failure is counted against the source address and the
//! presented key, recorded as a security event, and answered 429 instead of 401 once
//! either is over its limit.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::tokens::redact;
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::rbac::{Permission, Role, allows};
use crate::state::AppState;
use crate::store::{AuditCtx, Binding, KeyAuth, StoreError, TenantStore};
use crate::util::sha256_hex;

/// The client address (behind trusted proxies, the one they name; see
/// [`crate::client_addr`]), `unknown` when the server was not given connect info.
pub fn source_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientAddr>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// An app key as OpenAI clients send it: `Authorization: Bearer`, or Azure's `api-key`.
fn app_key(parts: &Parts) -> Option<&str> {
    bearer(parts).or_else(|| parts.headers.get("api-key")?.to_str().ok().map(str::trim))
}

/// Counts a failed attempt, writes the security event, and returns the refusal: 401, or
/// 429 once the source or the key is over its limit (only failures are ever refused).
pub async fn record_failure(
    state: &AppState,
    tenant_id: Option<&str>,
    kind: &str,
    subject: &str,
    source: &str,
) -> ApiError {
    state.metrics.auth_failed();
    let src = state.limiter.fail(&format!("src:{source}"));
    let key = state.limiter.fail(&format!("key:{subject}"));
    tracing::warn!(kind, subject, source, "authentication failed");
    let store = &state.store;
    if let Err(e) = store
        .record_security_event(tenant_id, kind, subject, source)
        .await
    {
        tracing::error!(error = %e, "cannot record security event");
    }
    if src.tripped || key.tripped {
        if let Err(e) = store
            .record_security_event(tenant_id, "auth.rate_limited", subject, source)
            .await
        {
            tracing::error!(error = %e, "cannot record security event");
        }
    }
    if src.over || key.over {
        ApiError::RateLimited
    } else {
        ApiError::Unauthenticated
    }
}

/// A signed-in user of one tenant.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The session or personal token this request came with.
    pub token_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub username: String,
    /// The server-operator flag: tenant creation and the tenant list (no role grants it).
    pub operator: bool,
    pub bindings: Vec<Binding>,
    pub source: String,
    /// A service identity: no user row and no token of the server's own, so nothing
    /// to issue tokens for or to revoke.
    pub service: bool,
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let source = source_of(parts);
        let Some(token) = bearer(parts) else {
            return Err(ApiError::Unauthenticated);
        };
        if super::service_principal::looks_like_jwt(token) {
            // Failures are counted per token: JWTs of one provider share their header,
            // so a prefix would put every service under one limit.
            let subject = format!("jwt:{}", &sha256_hex(token.as_bytes())[..16]);
            return super::service_principal::authenticate(state, token, &subject, &source).await;
        }
        match state.store.authenticate_user_token(token).await? {
            Some(auth) => Ok(Principal {
                token_id: auth.token_id,
                tenant_id: auth.tenant_id,
                user_id: auth.user_id,
                username: auth.username,
                operator: auth.operator,
                bindings: auth.bindings,
                source,
                service: false,
            }),
            None => {
                let tenant = state.store.tenant_of_presented(token).await.ok().flatten();
                Err(record_failure(
                    state,
                    tenant.as_deref(),
                    "auth.failed.user_token",
                    &redact(token),
                    &source,
                )
                .await)
            }
        }
    }
}

impl Principal {
    /// A tenant-wide permission: needs a tenant-scoped binding whose role allows it.
    /// Returns the role acted under, for the audit record.
    pub fn authorize(&self, permission: Permission) -> Result<Role, ApiError> {
        self.bindings
            .iter()
            .find(|b| b.department_id.is_none() && allows(b.role, permission))
            .map(|b| b.role)
            .ok_or(ApiError::Forbidden)
    }

    /// A server-level permission: held through the operator flag, whatever the roles.
    /// Returns the audit context of an operator act.
    pub fn authorize_operator(&self, permission: Permission) -> Result<AuditCtx, ApiError> {
        if !(permission.operator_only() && self.operator) {
            return Err(ApiError::Forbidden);
        }
        Ok(AuditCtx {
            actor: self.username.clone(),
            role: "operator".into(),
            source: self.source.clone(),
        })
    }

    /// True when some binding, at any scope, could grant `permission`: the cheap first
    /// check before a department-scoped lookup.
    pub fn may_somewhere(&self, permission: Permission) -> Result<(), ApiError> {
        if self.bound_somewhere(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    fn bound_somewhere(&self, permission: Permission) -> bool {
        self.bindings.iter().any(|b| {
            allows(b.role, permission)
                && (b.department_id.is_none() || permission.department_scopable())
        })
    }

    /// Whether a binding at some scope, or for the operator-only permissions the operator
    /// flag, grants `permission`: what `/api/v1/me` lists for the console.
    pub fn holds_somewhere(&self, permission: Permission) -> bool {
        if permission.operator_only() {
            self.operator
        } else {
            self.bound_somewhere(permission)
        }
    }

    /// A permission on something inside `department_id`: a tenant-scoped binding, or a
    /// department binding on that department or an ancestor. Outside the caller's scope
    /// the answer is `NotFound`, as for another tenant.
    pub async fn authorize_in(
        &self,
        tenant: &TenantStore<'_>,
        permission: Permission,
        department_id: &str,
    ) -> Result<Role, ApiError> {
        if let Ok(role) = self.authorize(permission) {
            return Ok(role);
        }
        self.may_somewhere(permission)?;
        let lineage = match tenant.department_lineage(department_id).await {
            Err(StoreError::NotFound) => return Err(ApiError::NotFound),
            other => other?,
        };
        self.bindings
            .iter()
            .find(|b| {
                permission.department_scopable()
                    && allows(b.role, permission)
                    && b.department_id
                        .as_ref()
                        .is_some_and(|d| lineage.contains(d))
            })
            .map(|b| b.role)
            .ok_or(ApiError::NotFound)
    }

    /// The departments (with descendants resolved by the caller) a department-scoped
    /// permission reaches; `None` means the whole tenant.
    pub fn department_scope(&self, permission: Permission) -> Option<Vec<String>> {
        if self.authorize(permission).is_ok() {
            return None;
        }
        Some(
            self.bindings
                .iter()
                .filter(|b| allows(b.role, permission) && permission.department_scopable())
                .filter_map(|b| b.department_id.clone())
                .collect(),
        )
    }

    pub fn audit(&self, role: Role) -> AuditCtx {
        AuditCtx {
            actor: self.username.clone(),
            role: role.as_str().into(),
            source: self.source.clone(),
        }
    }
}

/// An SDK instance authenticated by an app key.
#[derive(Debug, Clone)]
pub struct AppCaller {
    pub key: KeyAuth,
    pub source: String,
}

impl FromRequestParts<AppState> for AppCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let source = source_of(parts);
        let Some(token) = app_key(parts) else {
            return Err(ApiError::Unauthenticated);
        };
        let hash = sha256_hex(token.as_bytes());
        if let Some(key) = state.keys.get(&hash) {
            return Ok(AppCaller { key, source });
        }
        match state.store.authenticate_app_key(token).await? {
            Some(key) => {
                state.keys.put(hash, key.clone());
                Ok(AppCaller { key, source })
            }
            None => {
                let tenant = state.store.tenant_of_presented(token).await.ok().flatten();
                Err(record_failure(
                    state,
                    tenant.as_deref(),
                    "auth.failed.app_key",
                    &redact(token),
                    &source,
                )
                .await)
            }
        }
    }
}
