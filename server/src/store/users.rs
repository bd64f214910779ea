//! Users, their role bindings, and their bearer tokens (web sessions and personal API
//! tokens, both stored as hashes only).

use serde::{Deserialize, Serialize};
use sqlx::{Any, Executor, Transaction};

use super::departments::fetch_department;
use super::{AuditCtx, AuditEntry, Page, Result, Store, StoreError, TenantStore, check_name};
use crate::auth::tokens::{constant_time_eq, generate, parse};
use crate::rbac::Role;
use crate::util::{new_id, now_ms, sha256_hex};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: Option<String>,
    pub disabled: bool,
    /// A server operator: may create and list tenants (no role grants that).
    pub operator: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Binding {
    pub id: String,
    pub user_id: String,
    pub role: Role,
    /// `None`: the whole tenant.
    pub department_id: Option<String>,
}

/// A role binding to grant: a role at tenant scope, or at one department and below.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBinding {
    pub role: Role,
    /// None: the whole tenant.
    #[serde(default)]
    pub department_id: Option<String>,
}

/// A partial update: `None` leaves a field alone; `display_name: Some(None)` clears it;
/// `bindings: Some(..)` is the user's whole new set of role bindings.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub bindings: Option<Vec<NewBinding>>,
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
    pub token_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub username: String,
    pub operator: bool,
    pub bindings: Vec<Binding>,
}

type UserRow = (String, String, Option<String>, i64, i64, i64);
const USER_COLUMNS: &str = "id, username, display_name, disabled, operator, created_at";
/// token, tenant, user, hash, username, expiry, revocation, disabled, operator.
type TokenRow = (
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
);

fn user_from_row((id, username, display_name, disabled, operator, created_at): UserRow) -> User {
    User {
        id,
        username,
        display_name,
        disabled: disabled != 0,
        operator: operator != 0,
        created_at,
    }
}

async fn fetch_user<'e>(
    e: impl Executor<'e, Database = Any>,
    tenant_id: &str,
    id: &str,
) -> Result<User> {
    let row: UserRow = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_one(e)
    .await?;
    Ok(user_from_row(row))
}

async fn fetch_bindings<'e>(
    e: impl Executor<'e, Database = Any>,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<Binding>> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, user_id, role, department_id FROM role_bindings \
         WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(e)
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

/// How many enabled users hold tenant-wide infra_admin: an update must not leave none,
/// or nobody could manage the tenant's users again.
async fn active_admins(tx: &mut Transaction<'static, Any>, tenant_id: &str) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM users u WHERE u.tenant_id = $1 AND u.disabled = 0 AND EXISTS \
         (SELECT 1 FROM role_bindings b WHERE b.tenant_id = $1 AND b.user_id = u.id \
          AND b.role = $2 AND b.department_id IS NULL)",
    )
    .bind(tenant_id)
    .bind(Role::InfraAdmin.as_str())
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

pub(super) async fn insert_user(
    tx: &mut Transaction<'static, Any>,
    tenant_id: &str,
    username: &str,
    password_hash: &str,
    display_name: Option<&str>,
    operator: bool,
) -> Result<User> {
    check_name("username", username)?;
    if let Some(name) = display_name {
        check_name("display_name", name)?;
    }
    let user = User {
        id: new_id("usr"),
        username: username.into(),
        display_name: display_name.map(str::to_owned),
        disabled: false,
        operator,
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO users (id, tenant_id, username, password_hash, display_name, disabled, operator, created_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
    )
    .bind(&user.id)
    .bind(tenant_id)
    .bind(&user.username)
    .bind(password_hash)
    .bind(&user.display_name)
    .bind(i64::from(operator))
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
        display_name: Option<&str>,
    ) -> Result<User> {
        let mut tx = self.write().await?;
        let user = insert_user(
            &mut tx.tx,
            &self.tenant_id,
            username,
            password_hash,
            display_name,
            false,
        )
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "user.create", &user.id)
                .states(None, Some(&serde_json::to_value(&user).unwrap_or_default())),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn get_user(&self, id: &str) -> Result<User> {
        fetch_user(&self.db.pool, &self.tenant_id, id).await
    }

    pub async fn list_users(&self, page: Page) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        ))
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
            self.get_department(dept)
                .await
                .map_err(|e| e.reference("department_id", "department"))?;
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
        fetch_bindings(&self.db.pool, &self.tenant_id, user_id).await
    }

    /// Changes a user's display name, disabled flag and/or whole set of role bindings in
    /// one audited transaction (the digests cover the user with its bindings). Bindings
    /// already held are kept as they are; only the difference is written. Refused with
    /// 409 when it would leave the tenant without an enabled tenant-wide infra_admin.
    /// An update that changes nothing writes nothing.
    pub async fn update_user(
        &self,
        ctx: &AuditCtx,
        id: &str,
        patch: UserPatch,
    ) -> Result<(User, Vec<Binding>)> {
        if let Some(Some(name)) = &patch.display_name {
            check_name("display_name", name)?;
        }
        let mut tx = self.write().await?;
        let user = fetch_user(&mut *tx.tx, &self.tenant_id, id).await?;
        let bindings = fetch_bindings(&mut *tx.tx, &self.tenant_id, id).await?;
        let before = (user.clone(), bindings.clone());
        let mut after = before.clone();
        if let Some(display_name) = patch.display_name {
            after.0.display_name = display_name;
        }
        if let Some(disabled) = patch.disabled {
            after.0.disabled = disabled;
        }
        if let Some(wanted) = &patch.bindings {
            after.1 = self
                .replace_bindings(&mut tx.tx, id, &bindings, wanted)
                .await?;
        }
        if after == before {
            return Ok(before);
        }
        sqlx::query(
            "UPDATE users SET display_name = $1, disabled = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(&after.0.display_name)
        .bind(i64::from(after.0.disabled))
        .bind(&self.tenant_id)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        if active_admins(&mut tx.tx, &self.tenant_id).await? == 0 {
            let field = if patch.disabled == Some(true) {
                "disabled"
            } else {
                "bindings"
            };
            return Err(StoreError::Conflict {
                field: field.into(),
                message: "the tenant would be left without an enabled tenant-wide infra_admin"
                    .into(),
            });
        }
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "user.update", id).change(&before, &after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Makes `current` into `wanted` inside `tx`: deletes the bindings no longer wanted,
    /// inserts the new ones, keeps the rest (with their ids). Returns the new set.
    async fn replace_bindings(
        &self,
        tx: &mut Transaction<'static, Any>,
        user_id: &str,
        current: &[Binding],
        wanted: &[NewBinding],
    ) -> Result<Vec<Binding>> {
        let same =
            |b: &Binding, w: &NewBinding| b.role == w.role && b.department_id == w.department_id;
        for (i, w) in wanted.iter().enumerate() {
            if let Some(dept) = &w.department_id {
                fetch_department(&mut **tx, &self.tenant_id, dept)
                    .await
                    .map_err(|e| {
                        e.reference(&format!("bindings[{i}].department_id"), "department")
                    })?;
            }
        }
        let mut kept = Vec::new();
        for b in current {
            if wanted.iter().any(|w| same(b, w)) {
                kept.push(b.clone());
            } else {
                sqlx::query("DELETE FROM role_bindings WHERE tenant_id = $1 AND id = $2")
                    .bind(&self.tenant_id)
                    .bind(&b.id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        for w in wanted {
            if !kept.iter().any(|b| same(b, w)) {
                kept.push(
                    insert_binding(
                        tx,
                        &self.tenant_id,
                        user_id,
                        w.role,
                        w.department_id.as_deref(),
                    )
                    .await?,
                );
            }
        }
        Ok(kept)
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
        check_name("name", name)?;
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

impl TenantStore<'_> {
    pub async fn user_by_username(&self, username: &str) -> Result<User> {
        let row: UserRow = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username = $2"
        ))
        .bind(&self.tenant_id)
        .bind(username)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(user_from_row(row))
    }

    /// Grants or withdraws the server-operator capability (the CLI only: it needs the
    /// database's own authority, so no API caller can make itself an operator).
    pub async fn set_operator(
        &self,
        ctx: &AuditCtx,
        user_id: &str,
        operator: bool,
    ) -> Result<User> {
        let mut tx = self.write().await?;
        let before = fetch_user(&mut *tx.tx, &self.tenant_id, user_id).await?;
        let after = User {
            operator,
            ..before.clone()
        };
        sqlx::query("UPDATE users SET operator = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(i64::from(operator))
            .bind(&self.tenant_id)
            .bind(user_id)
            .execute(&mut *tx.tx)
            .await?;
        let action = if operator {
            "user.operator.grant"
        } else {
            "user.operator.revoke"
        };
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), action, user_id).change(&before, &after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Revokes one of `user_id`'s tokens (sign-out, or a leaked personal token).
    pub async fn revoke_token(&self, ctx: &AuditCtx, user_id: &str, token_id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE user_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND id = $4 \
             AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(&self.tenant_id)
        .bind(user_id)
        .bind(token_id)
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.audit(AuditEntry::new(
            ctx,
            Some(&self.tenant_id),
            "token.revoke",
            token_id,
        ))
        .await?;
        tx.commit().await
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
            "SELECT t.id, t.tenant_id, t.user_id, t.hash, u.username, t.expires_at, t.revoked_at, \
             u.disabled, u.operator FROM user_tokens t JOIN users u ON u.id = t.user_id WHERE t.prefix = $1",
        )
        .bind(prefix)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((
            token_id,
            tenant_id,
            user_id,
            hash,
            username,
            expires_at,
            revoked_at,
            disabled,
            operator,
        )) = row
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
        // Made by hand, then given by the tenant's group rules at the last SSO sign-in.
        let tenant = self.tenant(&tenant_id);
        let mut bindings = tenant.list_bindings(&user_id).await?;
        bindings.extend(tenant.list_sso_bindings(&user_id).await?);
        Ok(Some(TokenAuth {
            token_id,
            tenant_id,
            user_id,
            username,
            operator: operator != 0,
            bindings,
        }))
    }
}
