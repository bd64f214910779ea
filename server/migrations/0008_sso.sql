-- Sign-in through the tenant's OpenID provider (docs/identity.md). Times are Unix
-- milliseconds.

-- One row per tenant that has a provider; no row: local users and passwords only.
CREATE TABLE sso_providers (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    -- The issuer URL; discovery is `{issuer}/.well-known/openid-configuration`.
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- This server's callback as registered at the provider:
    -- https://<server>/api/v1/auth/oidc/callback
    redirect_uri TEXT NOT NULL,
    -- Sealed with the master key (bound to the tenant), as provider credentials are;
    -- NULL for a public client.
    client_secret TEXT,
    client_secret_hint TEXT,
    -- Space-separated, `openid` among them.
    scopes TEXT NOT NULL,
    -- The ID token claim that holds the user's groups (a list of strings).
    groups_claim TEXT NOT NULL,
    -- 1: local passwords are refused but for the break-glass users.
    sso_required BIGINT NOT NULL,
    -- JSON array of usernames that keep their password when SSO is required.
    break_glass TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Sign-ins under way: what the callback needs (the PKCE verifier, the nonce the ID token
-- must carry, where the console goes back to), by the `state` sent to the provider.
-- Single use: the callback deletes the row it reads; expired rows are pruned.
CREATE TABLE sso_logins (
    state TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    return_to TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Who a provider's subject is here: users provisioned at their first sign-in.
CREATE TABLE sso_identities (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, issuer, subject)
);

-- The tenant's rules from a provider group to a role (at the tenant, or at a department
-- and below), applied at every sign-in.
CREATE TABLE sso_group_rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    group_name TEXT NOT NULL,
    role TEXT NOT NULL,
    -- NULL: the whole tenant.
    department_id TEXT REFERENCES departments(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX sso_group_rules_tenant ON sso_group_rules (tenant_id);

-- The role bindings a user holds from the rules as of its last sign-in, apart from the
-- bindings made by hand (role_bindings): each sign-in replaces them.
CREATE TABLE sso_bindings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    department_id TEXT REFERENCES departments(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX sso_bindings_user ON sso_bindings (user_id);
