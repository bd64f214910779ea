//! Users, their role bindings, and their bearer tokens (web sessions and personal API
//! tokens, both stored as hashes only).

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::{AuditCtx, Page, Result, Store, StoreError, TenantStore};
use crate::audit::AuditEntry;
use crate::auth::tokens::{constant_time_eq, generate, parse};
use crate::rbac::Role;
use crate::util::{new_id, now_ms, sha256_hex};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Binding {
    pub id: String,
    pub user_id: String,
    pub role: Role,
    /// `None`: the whole tenant.
    pub department_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Session,
    Personal,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "sys",
            TokenKind::Personal => "syp",
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Personal => "personal",
        }
    }
}

/// Who a user token speaks for.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub tenant_id: String,
    pub user_id: String,
    pub username: String,
    pub bindings: Vec<Binding>,
}

type UserRow = (String, String, i64, i64);
/// tenant, user, hash, username, expiry, revocation, disabled.
type TokenRow = (
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
);

fn user_from_row((id, username, disabled, created_at): UserRow) -> User {
    User {
        id,
        username,
        disabled: disabled != 0,
        created_at,
    }
}

pub(super) async fn insert_user(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    username: &str,
    password_hash: &str,
) -> Result<User> {
    if username.trim().is_empty() {
        return Err(StoreError::invalid("username", "must not be empty"));
    }
    let user = User {
        id: new_id("usr"),
        username: username.into(),
        disabled: false,
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO users (id, tenant_id, username, password_hash, disabled, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5)",
    )
    .bind(&user.id)
    .bind(tenant_id)
    .bind(&user.username)
    .bind(password_hash)
    .bind(user.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| StoreError::from(e).on_field("username"))?;
    Ok(user)
}

pub(super) async fn insert_binding(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    user_id: &str,
    role: Role,
    department_id: Option<&str>,
) -> Result<Binding> {
    let binding = Binding {
        id: new_id("rb"),
        user_id: user_id.into(),
        role,
        department_id: department_id.map(str::to_owned),
    };
    sqlx::query(
        "INSERT INTO role_bindings (id, tenant_id, user_id, role, department_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&binding.id)
    .bind(tenant_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(&binding.department_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(binding)
}

pub(super) async fn insert_token(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    user_id: &str,
    kind: TokenKind,
    name: &str,
    expires_at: Option<i64>,
) -> Result<(String, String)> {
    let (secret, prefix) = generate(kind.prefix());
    let id = new_id("tok");
    sqlx::query(
        "INSERT INTO user_tokens (id, tenant_id, user_id, kind, name, prefix, hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(user_id)
    .bind(kind.as_str())
    .bind(name)
    .bind(&prefix)
    .bind(sha256_hex(secret.as_bytes()))
    .bind(now_ms())
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok((id, secret))
}

impl TenantStore<'_> {
    pub async fn create_user(
        &self,
        ctx: &AuditCtx,
        username: &str,
        password_hash: &str,
    ) -> Result<User> {
        let mut tx = self.write().await?;
        let user = insert_user(&mut tx.tx, &self.tenant_id, username, password_hash).await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "user.create", &user.id)
                .states(None, Some(&serde_json::to_value(&user).unwrap_or_default())),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn get_user(&self, id: &str) -> Result<User> {
        let row: UserRow = sqlx::query_as(
            "SELECT id, username, disabled, created_at FROM users WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(user_from_row(row))
    }

    pub async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT id, username, disabled, created_at FROM users WHERE tenant_id = $1 \
             ORDER BY created_at, id LIMIT $2 OFFSET $3",
        )
        .bind(&self.tenant_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(user_from_row).collect())
    }

    pub async fn add_binding(
        &self,
        ctx: &AuditCtx,
        user_id: &str,
        role: Role,
        department_id: Option<&str>,
    ) -> Result<Binding> {
        self.get_user(user_id).await?;
        if let Some(dept) = department_id {
            if matches!(self.get_department(dept).await, Err(StoreError::NotFound)) {
                return Err(StoreError::invalid("department_id", "no such department"));
            }
        }
        let mut tx = self.write().await?;
        let binding =
            insert_binding(&mut tx.tx, &self.tenant_id, user_id, role, department_id).await?;
        tx.audit(
            AuditEntry::new(
                ctx,
                Some(&self.tenant_id),
                "role_binding.create",
                &binding.id,
            )
            .states(
                None,
                Some(&serde_json::to_value(&binding).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(binding)
    }

    pub async fn list_bindings(&self, user_id: &str) -> Result<Vec<Binding>> {
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, user_id, role, department_id FROM role_bindings \
             WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id",
        )
        .bind(&self.tenant_id)
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, user_id, role, department_id)| {
                Some(Binding {
                    id,
                    user_id,
                    role: Role::parse(&role)?,
                    department_id,
                })
            })
            .collect())
    }

    /// Issues a session or personal token; the secret is returned once.
    pub async fn create_token(
        &self,
        ctx: &AuditCtx,
        user_id: &str,
        kind: TokenKind,
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<(String, String)> {
        self.get_user(user_id).await?;
        let mut tx = self.write().await?;
        let (id, secret) =
            insert_token(&mut tx.tx, &self.tenant_id, user_id, kind, name, expires_at).await?;
        tx.audit(AuditEntry::new(
            ctx,
            Some(&self.tenant_id),
            &format!("token.create.{}", kind.as_str()),
            &id,
        ))
        .await?;
        tx.commit().await?;
        Ok((id, secret))
    }
}

impl Store {
    /// The tenant id, user id, password hash and disabled flag for a login attempt.
    pub async fn login_record(
        &self,
        tenant_name: &str,
        username: &str,
    ) -> Result<Option<(String, String, String, bool)>> {
        let row: Option<(String, String, String, i64)> = sqlx::query_as(
            "SELECT u.tenant_id, u.id, u.password_hash, u.disabled FROM users u \
             JOIN tenants t ON t.id = u.tenant_id WHERE t.name = $1 AND u.username = $2",
        )
        .bind(tenant_name)
        .bind(username)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(|(t, u, h, d)| (t, u, h, d != 0)))
    }

    /// Resolves a session or personal token; `None` when it does not authenticate.
    pub async fn authenticate_user_token(&self, presented: &str) -> Result<Option<TokenAuth>> {
        let prefix = [TokenKind::Session, TokenKind::Personal]
            .into_iter()
            .find_map(|k| parse(k.prefix(), presented));
        let Some(prefix) = prefix else {
            return Ok(None);
        };
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT t.tenant_id, t.user_id, t.hash, u.username, t.expires_at, t.revoked_at, u.disabled \
             FROM user_tokens t JOIN users u ON u.id = t.user_id WHERE t.prefix = $1",
        )
        .bind(prefix)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((tenant_id, user_id, hash, username, expires_at, revoked_at, disabled)) = row
        else {
            return Ok(None);
        };
        if !constant_time_eq(hash.as_bytes(), sha256_hex(presented.as_bytes()).as_bytes())
            || revoked_at.is_some()
            || disabled != 0
            || expires_at.is_some_and(|e| e <= now_ms())
        {
            return Ok(None);
        }
        let bindings = self.tenant(&tenant_id).list_bindings(&user_id).await?;
        Ok(Some(TokenAuth {
            tenant_id,
            user_id,
            username,
            bindings,
        }))
    }
}
