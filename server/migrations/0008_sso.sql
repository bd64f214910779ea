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
