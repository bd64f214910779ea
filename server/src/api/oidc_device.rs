//! The CLI's sign-in through the tenant's OpenID provider: the device authorization grant
//! (RFC 8628), brokered by the server (`docs/identity.md`). The server talks to the
//! provider as the tenant's client, so the client secret never leaves it and the CLI
//! needs only the server's URL: `start` asks the provider for a user code and keeps the
//! device code server-side under a random handle; `token` polls the provider once per
//! call and, once the person has approved in a browser, turns the ID token into the same
//! session the console's sign-in gives.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::Source;
use super::oidc_sign_in::{
    ProviderTokens, Refusal, TenantProvider, client_request, sign_in, tenant_provider, unavailable,
};
use super::principal::record_failure;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::store::PendingDevice;
use crate::util::{now_ms, random_hex};

/// The polling interval RFC 8628 prescribes when the provider names none.
const DEFAULT_INTERVAL_S: u64 = 5;
/// The longest a device sign-in is kept, whatever the provider says.
const MAX_PENDING_S: u64 = 30 * 60;
/// How long a handle outlives the provider's device code, so that a late poll is told
/// `expired_token` rather than "unknown handle".
const GRACE_MS: i64 = 60 * 1000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceStart {
    /// The tenant's name.
    tenant: String,
}

/// What the CLI shows the person, and the handle it polls with.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeviceAuthorization {
    /// Opaque; names this sign-in at `POST /api/v1/auth/oidc/device/token`. Whoever holds
    /// it receives the session: keep it as secret as a token.
    handle: String,
    /// The code the person enters at `verification_uri`.
    user_code: String,
    verification_uri: String,
    /// `verification_uri` with the code filled in, when the provider offers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_uri_complete: Option<String>,
    /// Seconds between two polls (5 more after each `slow_down`).
    interval: u64,
    /// Seconds until the code expires.
    expires_in: u64,
}

/// The provider's device authorization response (RFC 8628 3.2).
#[derive(Deserialize)]
struct ProviderAuthorization {
    device_code: String,
    user_code: String,
    /// Google's providers spell it `verification_url`.
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// Starts a CLI sign-in: a user code from the tenant's provider.
#[utoipa::path(post, path = "/api/v1/auth/oidc/device", tag = "auth", request_body = DeviceStart, responses((status = 200, body = DeviceAuthorization), (status = "4XX", body = crate::error::ErrorBody), (status = 503, description = "the provider is unreachable or offers no device authorization", body = crate::error::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Json(req): Json<DeviceStart>,
) -> Result<Json<DeviceAuthorization>, ApiError> {
    let tenant = state.store.tenant_by_name(&req.tenant).await?;
    // A tenant without a provider is 404, before anything else.
    state.store.tenant(&tenant.id).get_sso().await?;
    let provider = tenant_provider(&state, &tenant.id)
        .await
        .map_err(|r| unavailable(r.reason()))?;
    let endpoint = provider
        .issuer
        .metadata
        .device_authorization_endpoint
        .as_deref()
        .ok_or_else(|| {
            ApiError::Unavailable(
                "the identity provider offers no device authorization endpoint".into(),
            )
        })?;
    let scope = provider.sso.scopes.join(" ");
    let form = vec![("scope", scope.as_str())];
    let response = client_request(
        &state,
        endpoint,
        &provider.sso,
        provider.secret.as_deref(),
        form,
    )
    .send()
    .await
    .map_err(unavailable)?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        tracing::warn!(%status, body, "the provider refused the device authorization");
        return Err(ApiError::Unavailable(format!(
            "the identity provider refused the device authorization ({status}): is the \
             device code grant enabled for client {}?",
            provider.sso.client_id
        )));
    }
    let answer: ProviderAuthorization = response.json().await.map_err(|e| {
        ApiError::Unavailable(format!("the identity provider's device authorization: {e}"))
    })?;
    let expires_in = answer.expires_in.min(MAX_PENDING_S);
    let handle = random_hex(24);
    let device = PendingDevice {
        tenant_id: tenant.id,
        device_code: answer.device_code,
    };
    let expires_at = now_ms() + i64::try_from(expires_in * 1000).unwrap_or(0) + GRACE_MS;
    state
        .store
        .put_sso_device(&handle, &device, expires_at)
        .await?;
    Ok(Json(DeviceAuthorization {
        handle,
        user_code: answer.user_code,
        verification_uri: answer.verification_uri,
        verification_uri_complete: answer.verification_uri_complete,
        interval: answer.interval.unwrap_or(DEFAULT_INTERVAL_S),
        expires_in,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePoll {
    /// The handle `POST /api/v1/auth/oidc/device` gave.
    handle: String,
}

/// The session the CLI keeps: the same 12-hour session a console sign-in gives.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeviceSession {
    token: String,
    /// The user the person was mapped to (provisioned at the first sign-in).
    username: String,
    /// Unix milliseconds.
    expires_at: i64,
}

/// Why a poll gave no session. The first four are RFC 8628's (3.5), under the same codes.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The person has not approved yet: poll again after the interval.
    #[error("the sign-in is not approved yet")]
    Pending,
    /// Polled too often: add 5 seconds to the interval, then poll again.
    #[error("polling too fast")]
    SlowDown,
    /// The code expired before it was approved: start again.
    #[error("the code expired before it was approved")]
    Expired,
    /// The person refused at the provider.
    #[error("the sign-in was refused at the identity provider")]
    Denied,
    /// The provider's answer was refused (its ID token, the user): the reason is the
    /// security event's, as the console is told.
    #[error("the sign-in was refused: {}", .0.trim_start_matches("auth.failed.oidc."))]
    Refused(&'static str),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl DeviceError {
    /// The security event of a sign-in that ended refused; `None` while it may still
    /// succeed (pending, too fast, the provider unreachable).
    fn event_kind(&self) -> Option<&'static str> {
        match self {
            DeviceError::Pending | DeviceError::SlowDown | DeviceError::Api(_) => None,
            DeviceError::Expired => Some("auth.failed.oidc.device_expired"),
            DeviceError::Denied => Some("auth.failed.oidc.denied"),
            DeviceError::Refused(kind) => Some(kind),
        }
    }
}

impl IntoResponse for DeviceError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            DeviceError::Api(e) => return e.into_response(),
            DeviceError::Pending => (StatusCode::BAD_REQUEST, "authorization_pending"),
            DeviceError::SlowDown => (StatusCode::BAD_REQUEST, "slow_down"),
            DeviceError::Expired => (StatusCode::GONE, "expired_token"),
            DeviceError::Denied => (StatusCode::FORBIDDEN, "access_denied"),
            DeviceError::Refused(_) => (StatusCode::UNAUTHORIZED, "sso_refused"),
        };
        let body = ErrorBody {
            code: code.to_owned(),
            message: self.to_string(),
            field: None,
            issues: None,
        };
        (status, Json(body)).into_response()
    }
}

/// The provider's token endpoint refusal (RFC 6749 5.2).
#[derive(Deserialize)]
struct ProviderError {
    error: String,
}

/// One poll of the provider's token endpoint: the ID token, or why not.
async fn poll_provider(
    state: &AppState,
    device: &PendingDevice,
) -> Result<(String, TenantProvider), DeviceError> {
    // Not the person's doing (the provider or the database unreachable): the next poll
    // may succeed.
    let provider = tenant_provider(state, &device.tenant_id)
        .await
        .map_err(|r| unavailable(r.reason()))?;
    let form = vec![
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device.device_code.as_str()),
    ];
    let response = client_request(
        state,
        &provider.issuer.metadata.token_endpoint,
        &provider.sso,
        provider.secret.as_deref(),
        form,
    )
    .send()
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "token endpoint unreachable");
        unavailable(e)
    })?;
    if response.status().is_success() {
        let tokens: ProviderTokens = response
            .json()
            .await
            .map_err(|_| DeviceError::Refused("auth.failed.oidc.malformed"))?;
        return Ok((tokens.id_token, provider));
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let error = serde_json::from_str::<ProviderError>(&body)
        .map(|e| e.error)
        .unwrap_or_default();
    Err(match error.as_str() {
        "authorization_pending" => DeviceError::Pending,
        "slow_down" => DeviceError::SlowDown,
        "expired_token" => DeviceError::Expired,
        "access_denied" => DeviceError::Denied,
        _ => {
            tracing::warn!(%status, body, "the token endpoint refused the device code");
            DeviceError::Refused("auth.failed.oidc.code")
        }
    })
}

/// Polls a CLI sign-in once: the session once the person has approved at the provider.
#[utoipa::path(post, path = "/api/v1/auth/oidc/device/token", tag = "auth", request_body = DevicePoll, responses((status = 200, body = DeviceSession), (status = 400, description = "`authorization_pending` (poll again after the interval) or `slow_down` (add 5 seconds to it)", body = crate::error::ErrorBody), (status = 401, description = "an unknown or finished handle (`unauthenticated`), or the provider's answer refused (`sso_refused`)", body = crate::error::ErrorBody), (status = 403, description = "`access_denied`: the person refused", body = crate::error::ErrorBody), (status = 410, description = "`expired_token`: start again", body = crate::error::ErrorBody)))]
pub async fn token(
    State(state): State<AppState>,
    Source(source): Source,
    Json(req): Json<DevicePoll>,
) -> Result<Json<DeviceSession>, DeviceError> {
    let subject = format!("device:{}", req.handle.chars().take(8).collect::<String>());
    let Some(device) = state
        .store
        .get_sso_device(&req.handle)
        .await
        .map_err(ApiError::from)?
    else {
        // Unknown (made up, altered), finished, or expired: never a provider call. Past
        // the failure limit, further guesses from the address are answered 429.
        return Err(
            record_failure(&state, None, "auth.failed.oidc.handle", &subject, &source)
                .await
                .into(),
        );
    };
    match finish(&state, &device, &source).await {
        Ok(signed_in) => {
            drop_device(&state, &req.handle).await?;
            Ok(Json(signed_in))
        }
        Err(e) => {
            if let Some(kind) = e.event_kind() {
                drop_device(&state, &req.handle).await?;
                // The typed refusal is the answer; the failure still counts.
                let _ =
                    record_failure(&state, Some(&device.tenant_id), kind, &subject, &source).await;
            }
            Err(e)
        }
    }
}

/// Ends a sign-in: its handle answers no more.
async fn drop_device(state: &AppState, handle: &str) -> Result<(), ApiError> {
    Ok(state.store.drop_sso_device(handle).await?)
}

/// The provider polled once, and its ID token made a session.
async fn finish(
    state: &AppState,
    device: &PendingDevice,
    source: &str,
) -> Result<DeviceSession, DeviceError> {
    let (id_token, provider) = poll_provider(state, device).await?;
    let signed_in = sign_in(
        state,
        &device.tenant_id,
        &provider.sso,
        &id_token,
        None,
        source,
        "sso cli session",
    )
    .await
    .map_err(|Refusal(kind)| DeviceError::Refused(kind))?;
    Ok(DeviceSession {
        token: signed_in.token,
        username: signed_in.username,
        expires_at: signed_in.expires_at,
    })
}
