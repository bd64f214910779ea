//! A tenant's OpenID provider (`docs/identity.md`): issuer, client, scopes, the groups
//! claim, and whether SSO is required. The client secret is sealed with the master key
//! and bound to the tenant; no read here returns it but [`TenantStore::open_sso_secret`].

use serde::{Deserialize, Serialize};

use super::{AuditCtx, AuditEntry, Result, StoreError, TenantStore};
use crate::crypto::{CryptoError, MasterKey, hint, sso_aad};
use crate::util::now_ms;

/// Scopes asked for when the tenant names none.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];
/// The ID token claim read for groups when the tenant names none.
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";

/// The tenant's provider as the API shows it: the secret only as a hint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    /// This server's callback as registered at the provider.
    pub redirect_uri: String,
    /// e.g. `…a1b2`; `None` for a public client (PKCE only).
    pub client_secret_hint: Option<String>,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    /// Local passwords refused but for `break_glass` users.
    pub sso_required: bool,
    pub break_glass: Vec<String>,
    /// The audience a service's JWT access token must carry; `None`: no service tokens.
    pub api_audience: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What infra_admin sets (`PUT /api/v1/sso`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoInput {
    /// `https://…` (plain `http` only on a loopback address, for tests).
    pub issuer: String,
    pub client_id: String,
    /// This server's callback as registered at the provider:
    /// `https://<server>/api/v1/auth/oidc/callback`.
    pub redirect_uri: String,
    /// Absent: the secret already set is kept (or none, a public client).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Default `openid profile email`; must include `openid`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Default `groups`.
    #[serde(default)]
    pub groups_claim: Option<String>,
    #[serde(default)]
    pub sso_required: bool,
    /// Usernames that keep their local password when SSO is required.
    #[serde(default)]
    pub break_glass: Vec<String>,
    /// The audience (resource) a service's access token must carry to call the API
    /// (client credentials); absent: the tenant accepts no service tokens.
    #[serde(default)]
    pub api_audience: Option<String>,
}

/// An issuer URL the server will talk to: https, or http on a loopback host; no query or
/// fragment (the ID token's `iss` must equal it character for character).
pub fn check_issuer(issuer: &str) -> Result<()> {
    check_url("issuer", issuer)
}

fn check_url(field: &str, value: &str) -> Result<()> {
    let bad = |m: &str| Err(StoreError::invalid(field, m));
    let Ok(url) = reqwest::Url::parse(value) else {
        return bad("must be a URL");
    };
    if url.query().is_some() || url.fragment().is_some() {
        return bad("must have no query or fragment");
    }
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bad("must be https (http only on a loopback address)"),
    }
}

fn check(input: &SsoInput) -> Result<(Vec<String>, String)> {
    check_issuer(&input.issuer)?;
    check_url("redirect_uri", &input.redirect_uri)?;
    super::check_name("client_id", &input.client_id)?;
    let scopes = input
        .scopes
        .clone()
        .unwrap_or_else(|| DEFAULT_SCOPES.map(String::from).to_vec());
    if !scopes.iter().any(|s| s == "openid") {
        return Err(StoreError::invalid("scopes", "must include openid"));
    }
    if scopes
        .iter()
        .any(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(StoreError::invalid(
            "scopes",
            "each scope must be one word without spaces",
        ));
    }
    let groups_claim = input
        .groups_claim
        .clone()
        .unwrap_or_else(|| DEFAULT_GROUPS_CLAIM.to_owned());
    super::check_name("groups_claim", &groups_claim)?;
    for user in &input.break_glass {
        super::check_name("break_glass", user)?;
    }
    if input
        .api_audience
        .as_deref()
        .is_some_and(|a| a.is_empty() || a.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(StoreError::invalid(
            "api_audience",
            "must be one word without spaces",
        ));
    }
    // An ID token's audience is the client id: were the API's the same, a person's ID
    // token would pass for a service's access token.
    if input.api_audience.as_deref() == Some(input.client_id.as_str()) {
        return Err(StoreError::invalid(
            "api_audience",
            "must differ from client_id",
        ));
    }
    if input.sso_required && input.break_glass.is_empty() {
        return Err(StoreError::invalid(
            "break_glass",
            "name at least one break-glass user when SSO is required",
        ));
    }
    Ok((scopes, groups_claim))
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
    i64,
);
const COLUMNS: &str = "issuer, client_id, redirect_uri, client_secret_hint, scopes, groups_claim, \
                       sso_required, break_glass, api_audience, created_at, updated_at";

fn from_row(
    (
        issuer,
        client_id,
        redirect_uri,
        client_secret_hint,
        scopes,
        groups_claim,
        sso_required,
        break_glass,
        api_audience,
        created_at,
        updated_at,
    ): Row,
) -> Result<SsoSettings> {
    Ok(SsoSettings {
        issuer,
        client_id,
        redirect_uri,
        client_secret_hint,
        scopes: scopes.split_whitespace().map(String::from).collect(),
        groups_claim,
        sso_required: sso_required != 0,
        break_glass: serde_json::from_str(&break_glass)
            .map_err(|e| StoreError::Internal(format!("sso break_glass: {e}")))?,
        api_audience,
        created_at,
        updated_at,
    })
}

fn crypto_err(e: CryptoError) -> StoreError {
    StoreError::Crypto(e.to_string())
}

impl TenantStore<'_> {
    /// The tenant's provider; `NotFound` when it has none.
    pub async fn get_sso(&self) -> Result<SsoSettings> {
        let row: Row = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM sso_providers WHERE tenant_id = $1"
        ))
        .bind(&self.tenant_id)
        .fetch_one(&self.db.pool)
        .await?;
        from_row(row)
    }

    /// Sets (or replaces) the tenant's provider, audited as `sso.set`.
    pub async fn put_sso(
        &self,
        ctx: &AuditCtx,
        key: Option<&MasterKey>,
        input: SsoInput,
    ) -> Result<SsoSettings> {
        let (scopes, groups_claim) = check(&input)?;
        let before = match self.get_sso().await {
            Ok(s) => Some(s),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let sealed = match &input.client_secret {
            Some(secret) => {
                let key = key.ok_or_else(|| crypto_err(CryptoError::Missing))?;
                Some(
                    key.seal(secret, &sso_aad(&self.tenant_id))
                        .map_err(crypto_err)?,
                )
            }
            None => None,
        };
        let now = now_ms();
        let after = SsoSettings {
            issuer: input.issuer,
            client_id: input.client_id,
            redirect_uri: input.redirect_uri,
            client_secret_hint: match &input.client_secret {
                Some(secret) => Some(hint(secret)),
                None => before.as_ref().and_then(|b| b.client_secret_hint.clone()),
            },
            scopes,
            groups_claim,
            sso_required: input.sso_required,
            break_glass: input.break_glass,
            api_audience: input.api_audience,
            created_at: before.as_ref().map_or(now, |b| b.created_at),
            updated_at: now,
        };
        let break_glass = serde_json::to_string(&after.break_glass)
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut tx = self.write().await?;
        if before.is_some() {
            sqlx::query(
                "UPDATE sso_providers SET issuer = $1, client_id = $2, \
                 client_secret = COALESCE($3, client_secret), client_secret_hint = $4, \
                 scopes = $5, groups_claim = $6, sso_required = $7, break_glass = $8, \
                 updated_at = $9, redirect_uri = $10, api_audience = $11 WHERE tenant_id = $12",
            )
            .bind(&after.issuer)
            .bind(&after.client_id)
            .bind(sealed)
            .bind(&after.client_secret_hint)
            .bind(after.scopes.join(" "))
            .bind(&after.groups_claim)
            .bind(i64::from(after.sso_required))
            .bind(&break_glass)
            .bind(after.updated_at)
            .bind(&after.redirect_uri)
            .bind(&after.api_audience)
            .bind(&self.tenant_id)
            .execute(&mut *tx.tx)
            .await?;
        } else {
            sqlx::query(&format!(
                "INSERT INTO sso_providers (tenant_id, client_secret, {COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .bind(&self.tenant_id)
            .bind(sealed)
            .bind(&after.issuer)
            .bind(&after.client_id)
            .bind(&after.redirect_uri)
            .bind(&after.client_secret_hint)
            .bind(after.scopes.join(" "))
            .bind(&after.groups_claim)
            .bind(i64::from(after.sso_required))
            .bind(&break_glass)
            .bind(&after.api_audience)
            .bind(after.created_at)
            .bind(after.updated_at)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "sso.set", &self.tenant_id).states(
                before
                    .as_ref()
                    .map(|b| serde_json::to_value(b).unwrap_or_default())
                    .as_ref(),
                Some(&serde_json::to_value(&after).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes the tenant's provider (its users keep their accounts), audited.
    pub async fn delete_sso(&self, ctx: &AuditCtx) -> Result<()> {
        let before = self.get_sso().await?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sso_providers WHERE tenant_id = $1")
            .bind(&self.tenant_id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "sso.delete", &self.tenant_id).states(
                Some(&serde_json::to_value(&before).unwrap_or_default()),
                None,
            ),
        )
        .await?;
        tx.commit().await
    }

    /// The client secret in clear, for the token request; `None` for a public client.
    pub async fn open_sso_secret(&self, key: Option<&MasterKey>) -> Result<Option<String>> {
        let row: (Option<String>,) =
            sqlx::query_as("SELECT client_secret FROM sso_providers WHERE tenant_id = $1")
                .bind(&self.tenant_id)
                .fetch_one(&self.db.pool)
                .await?;
        let Some(sealed) = row.0 else {
            return Ok(None);
        };
        let key = key.ok_or_else(|| crypto_err(CryptoError::Missing))?;
        key.open(&sealed, &sso_aad(&self.tenant_id))
            .map(Some)
            .map_err(crypto_err)
    }
}

impl super::Store {
    /// The tenants whose provider is `issuer` and that accept service tokens, with the
    /// audience each wants: a service's JWT names its tenant by `iss` and `aud` together.
    pub async fn service_audiences(&self, issuer: &str) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT tenant_id, api_audience FROM sso_providers \
             WHERE issuer = $1 AND api_audience IS NOT NULL ORDER BY tenant_id",
        )
        .bind(issuer)
        .fetch_all(&self.db.pool)
        .await?)
    }
}

/// Re-seals every tenant's client secret from `old` to `new` inside the master-key
/// rotation's transaction. Answers how many moved.
pub(crate) async fn reseal_sso_secrets(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT tenant_id, client_secret FROM sso_providers WHERE client_secret IS NOT NULL",
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut moved = 0;
    for (tenant_id, sealed) in rows {
        let aad = sso_aad(&tenant_id);
        let plain = match old.open(&sealed, &aad) {
            Ok(p) => p,
            Err(_) if new.open(&sealed, &aad).is_ok() => continue,
            Err(e) => return Err(crypto_err(e)),
        };
        sqlx::query("UPDATE sso_providers SET client_secret = $1 WHERE tenant_id = $2")
            .bind(new.seal(&plain, &aad).map_err(crypto_err)?)
            .bind(&tenant_id)
            .execute(&mut **tx)
            .await?;
        moved += 1;
    }
    Ok(moved)
}
