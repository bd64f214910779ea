-- Users get a display name (free text, optional) and the server-operator flag: an
-- operator may create and list tenants (docs/server.md, "Tenants"); no role grants that.
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN operator BIGINT NOT NULL DEFAULT 0;
