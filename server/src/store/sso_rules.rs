//! Provider groups mapped to roles (`group "ai-platform-ops" → model_ops on department
//! /platform`): the tenant's rules, and the bindings they give a user at each sign-in,
//! kept apart from the bindings made by hand so that a sign-in replaces only its own.
//! A `client` rule (`client "billing-batch" → resource_manager on department /finance`)
//! gives a service presenting a JWT access token its roles, per call.

use serde::{Deserialize, Serialize};

use super::{AuditCtx, AuditEntry, Binding, Result, StoreError, TenantStore, check_name};
use crate::rbac::Role;
use crate::util::{new_id, now_ms};

/// What a rule's `group` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A group in a person's groups claim, at sign-in.
    #[default]
    Group,
    /// A service's client id (`client_id`, else `azp`, else `sub` of its access token).
    Client,
}

impl RuleKind {
    fn as_str(self) -> &'static str {
        match self {
            RuleKind::Group => "group",
            RuleKind::Client => "client",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupRule {
    pub id: String,
    pub kind: RuleKind,
    /// The group as the provider names it in the groups claim, or the client id.
    pub group: String,
    pub role: Role,
    /// `None`: the whole tenant.
    pub department_id: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRuleInput {
    /// Default `group`.
    #[serde(default)]
    pub kind: RuleKind,
    #[schema(schema_with = crate::schema_rules::name)]
    pub group: String,
    pub role: Role,
    #[serde(default)]
    pub department_id: Option<String>,
}

type RuleRow = (String, String, String, String, Option<String>, i64);

fn rule_from_row((id, kind, group, role, department_id, created_at): RuleRow) -> Option<GroupRule> {
    Some(GroupRule {
        id,
        kind: match kind.as_str() {
            "client" => RuleKind::Client,
            _ => RuleKind::Group,
        },
        group,
        role: Role::parse(&role)?,
        department_id,
        created_at,
    })
}

impl TenantStore<'_> {
    pub async fn list_group_rules(&self) -> Result<Vec<GroupRule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(
            "SELECT id, kind, group_name, role, department_id, created_at FROM sso_group_rules \
             WHERE tenant_id = $1 ORDER BY kind, group_name, created_at, id",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().filter_map(rule_from_row).collect())
    }

    /// A new rule, audited as `sso.rule.create`. Applies from each user's next sign-in.
    pub async fn create_group_rule(
        &self,
        ctx: &AuditCtx,
        input: GroupRuleInput,
    ) -> Result<GroupRule> {
        check_name("group", &input.group)?;
        if let Some(dept) = &input.department_id {
            self.get_department(dept)
                .await
                .map_err(|e| e.reference("department_id", "department"))?;
        }
        let rule = GroupRule {
            id: new_id("sgr"),
            kind: input.kind,
            group: input.group,
            role: input.role,
            department_id: input.department_id,
            created_at: now_ms(),
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO sso_group_rules (id, tenant_id, group_name, role, department_id, created_at, kind) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&rule.id)
        .bind(&self.tenant_id)
        .bind(&rule.group)
        .bind(rule.role.as_str())
        .bind(&rule.department_id)
        .bind(rule.created_at)
        .bind(rule.kind.as_str())
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "sso.rule.create", &rule.id)
                .states(None, Some(&serde_json::to_value(&rule).unwrap_or_default())),
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Removes a rule, audited as `sso.rule.delete`. Users lose what it gave them at their
    /// next sign-in.
    pub async fn delete_group_rule(&self, ctx: &AuditCtx, id: &str) -> Result<()> {
        let before = self
            .list_group_rules()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(StoreError::NotFound)?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sso_group_rules WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "sso.rule.delete", id).states(
                Some(&serde_json::to_value(&before).unwrap_or_default()),
                None,
            ),
        )
        .await?;
        tx.commit().await
    }

    /// What the `client` rules give the service `client_id`, for one call (not stored:
    /// a rule removed takes effect at the service's next call).
    pub async fn client_bindings(&self, client_id: &str) -> Result<Vec<Binding>> {
        Ok(self
            .list_group_rules()
            .await?
            .into_iter()
            .filter(|r| r.kind == RuleKind::Client && r.group == client_id)
            .map(|r| Binding {
                id: r.id,
                user_id: format!("service:{client_id}"),
                role: r.role,
                department_id: r.department_id,
            })
            .collect())
    }

    /// The bindings the rules gave `user_id` at its last sign-in.
    pub async fn list_sso_bindings(&self, user_id: &str) -> Result<Vec<Binding>> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, role, department_id FROM sso_bindings \
             WHERE tenant_id = $1 AND user_id = $2 ORDER BY role, department_id, id",
        )
        .bind(&self.tenant_id)
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, role, department_id)| {
                Some(Binding {
                    id,
                    user_id: user_id.to_owned(),
                    role: Role::parse(&role)?,
                    department_id,
                })
            })
            .collect())
    }

    /// At a sign-in: replaces `user_id`'s rule-given bindings by what the rules give
    /// `groups` now (audited as `sso.bindings.set` when that changes anything). Bindings
    /// made by hand are not touched.
    pub async fn apply_group_rules(
        &self,
        ctx: &AuditCtx,
        user_id: &str,
        groups: &[String],
    ) -> Result<Vec<Binding>> {
        let mut wanted: Vec<(Role, Option<String>)> = self
            .list_group_rules()
            .await?
            .into_iter()
            .filter(|r| r.kind == RuleKind::Group && groups.contains(&r.group))
            .map(|r| (r.role, r.department_id))
            .collect();
        wanted.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        wanted.dedup();
        let current = self.list_sso_bindings(user_id).await?;
        let held: Vec<(Role, Option<String>)> = current
            .iter()
            .map(|b| (b.role, b.department_id.clone()))
            .collect();
        if held == wanted {
            return Ok(current);
        }
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sso_bindings WHERE tenant_id = $1 AND user_id = $2")
            .bind(&self.tenant_id)
            .bind(user_id)
            .execute(&mut *tx.tx)
            .await?;
        let mut after = Vec::new();
        for (role, department_id) in wanted {
            let binding = Binding {
                id: new_id("sb"),
                user_id: user_id.to_owned(),
                role,
                department_id,
            };
            sqlx::query(
                "INSERT INTO sso_bindings (id, tenant_id, user_id, role, department_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&binding.id)
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(&binding.department_id)
            .bind(now_ms())
            .execute(&mut *tx.tx)
            .await?;
            after.push(binding);
        }
        tx.audit(
            AuditEntry::new(ctx, Some(&self.tenant_id), "sso.bindings.set", user_id).states(
                Some(&serde_json::to_value(&current).unwrap_or_default()),
                Some(&serde_json::to_value(&after).unwrap_or_default()),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
