-- The keyed audit chain (docs/audit.md). From `keyed_from` on, each record's `hash` is an
-- HMAC-SHA256 under the audit key named by `key_id` (kept outside the database); the
-- records before it keep their SHA-256 links. NULL: no server has run with a key yet.
ALTER TABLE audit_log ADD COLUMN key_id TEXT;
ALTER TABLE audit_head ADD COLUMN keyed_from BIGINT;
