-- Service identities (docs/identity.md): a JWT access token from the tenant's provider,
-- obtained with the client credentials grant, presented on the management API.

-- The audience such a token must carry; NULL: the tenant accepts no service tokens.
ALTER TABLE sso_providers ADD COLUMN api_audience TEXT;

-- What a rule matches: `group` (in a person's groups claim) or `client` (a service's
-- client id).
ALTER TABLE sso_group_rules ADD COLUMN kind TEXT NOT NULL DEFAULT 'group';
