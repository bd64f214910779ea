-- Alerts (docs/alerts.md): channels that notifications go to, rules evaluated on the
-- usage rollups, server events and security events, each rule's state per subject, and
-- the log of every delivery attempt. Times are Unix milliseconds.

-- A channel's secret (a webhook's HMAC key, an SMTP password) is sealed with the master
-- key like a provider credential; `secret_hint` is its last four characters.
CREATE TABLE alert_channels (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    -- 'webhook' | 'slack' | 'email'
    kind TEXT NOT NULL,
    -- An http(s) URL, or for email `smtp://[user@]host[:port]`.
    url TEXT NOT NULL,
    -- Email only: the sender, and the recipients comma-separated.
    email_from TEXT,
    email_to TEXT,
    secret_sealed TEXT,
    secret_hint TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- `params` is JSON: the threshold, window and scope of the rule's kind.
CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    -- JSON array of channel ids: each gets every notification.
    channel_ids TEXT NOT NULL,
    -- JSON: what the rule does when it starts firing (disable_deployment, …), or NULL.
    action TEXT,
    for_ms BIGINT NOT NULL,
    renotify_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- One row per rule and subject (a deployment, a budget, a rollout; '' for the tenant).
-- 'pending' (condition true, not yet for `for_ms`) | 'firing' | 'resolved'.
CREATE TABLE alert_states (
    rule_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    state TEXT NOT NULL,
    since BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    notified_at BIGINT,
    PRIMARY KEY (rule_id, subject)
);

CREATE TABLE alert_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- 'firing' | 'resolved'
    status TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    ok BIGINT NOT NULL,
    http_status BIGINT,
    error TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX alert_deliveries_time ON alert_deliveries (tenant_id, at);
