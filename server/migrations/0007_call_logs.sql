-- Call logs (docs/call-logs.md): each app's policy, and the logged calls' content beside
-- their usage events. Times are Unix milliseconds.

-- One row per app that has a policy; no row: off. `policy` is JSON, the config's
-- `call_logs` section (content, max_bytes, redact, models) as served to the app's SDKs.
CREATE TABLE call_log_policies (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    app_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    -- Days a logged call is kept (the pruning job deletes it past `expires_at`).
    retention_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);

-- One row per logged call, keyed by its usage event's id. The searchable metadata is in
-- clear; the content (request, answer, error) only in `sealed`: gzip'd JSON under
-- AES-256-GCM with the master key, bound to the tenant and the id.
CREATE TABLE call_logs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    department_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    user_id TEXT,
    model TEXT NOT NULL,
    deployment TEXT NOT NULL,
    provider TEXT NOT NULL,
    -- JSON array
    tags TEXT NOT NULL,
    -- NULL when the call succeeded
    error_code TEXT,
    cache_hit BIGINT NOT NULL,
    local BIGINT NOT NULL,
    stream BIGINT NOT NULL,
    redacted BIGINT NOT NULL,
    truncated BIGINT NOT NULL,
    -- Bytes of the content's JSON as shipped, and before the SDK cut it.
    content_bytes BIGINT NOT NULL,
    original_bytes BIGINT NOT NULL,
    sealed TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX call_logs_time ON call_logs (tenant_id, time_ms);
CREATE INDEX call_logs_app_time ON call_logs (tenant_id, app_id, time_ms);
CREATE INDEX call_logs_expiry ON call_logs (expires_at);
