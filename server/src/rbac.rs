//! The permission matrix: the one place that says which role may do what. The table in
//! `docs/permissions.md` is this matrix, and `tests/rbac_matrix.rs` walks every route with
//! every role against it.

use serde::{Deserialize, Serialize};

/// The six roles of ARCHITECTURE.md, bound to a user at tenant or department scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    InfraAdmin,
    ModelOps,
    InterfaceDev,
    ResourceManager,
    SecurityEngineer,
    AppDeveloper,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::InfraAdmin,
        Role::ModelOps,
        Role::InterfaceDev,
        Role::ResourceManager,
        Role::SecurityEngineer,
        Role::AppDeveloper,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::InfraAdmin => "infra_admin",
            Role::ModelOps => "model_ops",
            Role::InterfaceDev => "interface_dev",
            Role::ResourceManager => "resource_manager",
            Role::SecurityEngineer => "security_engineer",
            Role::AppDeveloper => "app_developer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Everything the management API lets a user do. Each route needs exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    DepartmentRead,
    DepartmentWrite,
    AppRead,
    AppWrite,
    KeyRead,
    KeyWrite,
    UserRead,
    UserWrite,
    ProviderRead,
    ProviderWrite,
    ConfigRead,
    ConfigWrite,
    ConfigActivate,
    AuditRead,
    SecurityEventRead,
    /// Usage series (`GET /api/v1/usage`): calls, tokens, cost, latency of the apps in scope.
    UsageRead,
    /// Cost reports, chargeback and advice (`/api/v1/costs/*`).
    CostRead,
    /// Server-side budgets, rate limits, price overrides, and the server events they raise.
    BudgetRead,
    /// Budgets, rate limits and price overrides, and the `budgets` / `rate_limits` sections
    /// of a config version.
    BudgetWrite,
    /// Alert rules, their states and deliveries, and alert channels.
    AlertRead,
    /// Alert channels (where notifications go): any role that has alert rules to write.
    AlertChannelWrite,
    /// Health alert rules: error rate, latency, failing deployments, rollbacks.
    AlertHealthWrite,
    /// Budget and spend alert rules.
    AlertCostWrite,
    /// Security alert rules (failed authentications).
    AlertSecurityWrite,
    /// Health per deployment, the capacity report and its forecasts.
    HealthRead,
    /// Logged calls' content: search, one call's request and answer, export
    /// (`docs/call-logs.md`). Every read is audited.
    CallLogRead,
    /// An app's call-log policy: what is logged, its size and retention.
    CallLogConfigure,
    /// The tenant's OpenID provider settings (`docs/identity.md`).
    SsoRead,
    /// Sets or removes the tenant's OpenID provider: infra_admin only.
    SsoWrite,
    /// Server-level: the list of tenants. Operators only.
    TenantRead,
    /// Server-level: a new tenant with its first admin. Operators only.
    TenantCreate,
}

impl Permission {
    pub const ALL: [Permission; 31] = [
        Permission::DepartmentRead,
        Permission::DepartmentWrite,
        Permission::AppRead,
        Permission::AppWrite,
        Permission::KeyRead,
        Permission::KeyWrite,
        Permission::UserRead,
        Permission::UserWrite,
        Permission::ProviderRead,
        Permission::ProviderWrite,
        Permission::ConfigRead,
        Permission::ConfigWrite,
        Permission::ConfigActivate,
        Permission::AuditRead,
        Permission::SecurityEventRead,
        Permission::UsageRead,
        Permission::CostRead,
        Permission::BudgetRead,
        Permission::BudgetWrite,
        Permission::AlertRead,
        Permission::AlertChannelWrite,
        Permission::AlertHealthWrite,
        Permission::AlertCostWrite,
        Permission::AlertSecurityWrite,
        Permission::HealthRead,
        Permission::CallLogRead,
        Permission::CallLogConfigure,
        Permission::SsoRead,
        Permission::SsoWrite,
        Permission::TenantRead,
        Permission::TenantCreate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::DepartmentRead => "department.read",
            Permission::DepartmentWrite => "department.write",
            Permission::AppRead => "app.read",
            Permission::AppWrite => "app.write",
            Permission::KeyRead => "key.read",
            Permission::KeyWrite => "key.write",
            Permission::UserRead => "user.read",
            Permission::UserWrite => "user.write",
            Permission::ProviderRead => "provider.read",
            Permission::ProviderWrite => "provider.write",
            Permission::ConfigRead => "config.read",
            Permission::ConfigWrite => "config.write",
            Permission::ConfigActivate => "config.activate",
            Permission::AuditRead => "audit.read",
            Permission::SecurityEventRead => "security_event.read",
            Permission::UsageRead => "usage.read",
            Permission::CostRead => "cost.read",
            Permission::BudgetRead => "budget.read",
            Permission::BudgetWrite => "budget.write",
            Permission::AlertRead => "alert.read",
            Permission::AlertChannelWrite => "alert_channel.write",
            Permission::AlertHealthWrite => "alert.health.write",
            Permission::AlertCostWrite => "alert.cost.write",
            Permission::AlertSecurityWrite => "alert.security.write",
            Permission::HealthRead => "health.read",
            Permission::CallLogRead => "call_log.read",
            Permission::CallLogConfigure => "call_log.configure",
            Permission::SsoRead => "sso.read",
            Permission::SsoWrite => "sso.write",
            Permission::TenantRead => "tenant.read",
            Permission::TenantCreate => "tenant.create",
        }
    }

    /// Above any one tenant: granted by the user's server-operator flag, never by a role,
    /// since every role acts inside its own tenant only.
    pub fn operator_only(self) -> bool {
        matches!(self, Permission::TenantRead | Permission::TenantCreate)
    }

    /// Whether a department-scoped binding can grant this permission. Tenant-wide things
    /// (providers, config, users, audit) need a tenant-scoped binding.
    pub fn department_scopable(self) -> bool {
        matches!(
            self,
            Permission::DepartmentRead
                | Permission::AppRead
                | Permission::AppWrite
                | Permission::KeyRead
                | Permission::KeyWrite
                | Permission::UsageRead
                | Permission::CostRead
                | Permission::CallLogRead
                | Permission::CallLogConfigure
        )
    }
}

/// The matrix. Reads are listed per role; a role not named for a permission is denied.
/// No role holds an operator-only permission.
pub fn allows(role: Role, permission: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match role {
        InfraAdmin => !permission.operator_only(),
        // Deployments, versions, rollouts live in config versions. Reads budgets (a
        // reroute names its models), changes none.
        ModelOps => matches!(
            permission,
            DepartmentRead
                | AppRead
                | ProviderRead
                | ConfigRead
                | ConfigWrite
                | ConfigActivate
                | BudgetRead
                | AlertRead
                | AlertChannelWrite
                | AlertHealthWrite
                | HealthRead
                | CallLogRead
        ),
        // Apps, API keys, gateway settings, API docs; what their apps' calls log.
        InterfaceDev => matches!(
            permission,
            DepartmentRead
                | AppRead
                | AppWrite
                | KeyRead
                | KeyWrite
                | ProviderRead
                | ConfigRead
                | CallLogRead
                | CallLogConfigure
        ),
        // Budgets, rate limits and prices are theirs (server resources, and the config
        // sections of those names); deployments are not. Spend is theirs to watch: usage,
        // cost reports, chargeback, advice.
        ResourceManager => matches!(
            permission,
            DepartmentRead
                | AppRead
                | ConfigRead
                | UsageRead
                | CostRead
                | BudgetRead
                | BudgetWrite
                | AlertRead
                | AlertChannelWrite
                | AlertCostWrite
                | HealthRead
        ),
        // Reads everything, changes nothing but the security alerts.
        SecurityEngineer => matches!(
            permission,
            DepartmentRead
                | AppRead
                | KeyRead
                | UserRead
                | ProviderRead
                | ConfigRead
                | AuditRead
                | SecurityEventRead
                | UsageRead
                | CostRead
                | BudgetRead
                | AlertRead
                | AlertChannelWrite
                | AlertSecurityWrite
                | HealthRead
                | CallLogRead
                | SsoRead
        ),
        // Sees its own department's apps, their usage and their logged calls; calls models
        // with app keys (SDK routes).
        AppDeveloper => matches!(
            permission,
            DepartmentRead | AppRead | UsageRead | CallLogRead
        ),
    }
}

/// The matrix as the Markdown table in `docs/permissions.md` (a test keeps them equal),
/// with a last column for what the server-operator flag grants.
pub fn markdown_table() -> String {
    let yes_no = |b: bool| if b { " yes |" } else { " no |" };
    let mut out = String::from("| permission |");
    for role in Role::ALL {
        out.push_str(&format!(" `{}` |", role.as_str()));
    }
    out.push_str(" operator |\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len() + 1));
    out.push('\n');
    for p in Permission::ALL {
        out.push_str(&format!("| `{}` |", p.as_str()));
        for role in Role::ALL {
            out.push_str(yes_no(allows(role, p)));
        }
        out.push_str(yes_no(p.operator_only()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_security_and_admin_read_audit() {
        for role in Role::ALL {
            let expected = matches!(role, Role::InfraAdmin | Role::SecurityEngineer);
            assert_eq!(allows(role, Permission::AuditRead), expected, "{role:?}");
        }
    }

    #[test]
    fn security_engineer_changes_nothing_but_security_alerts() {
        for p in Permission::ALL.into_iter().filter(|&p| {
            !matches!(
                p,
                Permission::AlertChannelWrite | Permission::AlertSecurityWrite
            )
        }) {
            if p.as_str().ends_with(".write") || p == Permission::ConfigActivate {
                assert!(!allows(Role::SecurityEngineer, p), "{p:?}");
            }
        }
    }

    #[test]
    fn the_docs_show_this_matrix() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/permissions.md"
        ))
        .unwrap();
        assert!(
            doc.contains(&markdown_table()),
            "docs/permissions.md is out of date:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn no_role_reaches_above_its_tenant() {
        for role in Role::ALL {
            for p in Permission::ALL.into_iter().filter(|p| p.operator_only()) {
                assert!(!allows(role, p), "{role:?} {p:?}");
            }
        }
        assert!(allows(Role::InfraAdmin, Permission::UserWrite));
    }

    #[test]
    fn resource_manager_reads_no_content() {
        assert!(!allows(Role::ResourceManager, Permission::CallLogRead));
        assert!(!allows(Role::ResourceManager, Permission::CallLogConfigure));
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
