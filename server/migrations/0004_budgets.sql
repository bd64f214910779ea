-- Server-side budgets and rate limits, leased to SDK instances (docs/budgets.md), price
-- overrides distributed with the config, and the server events the alerts read. Money is
-- integer micro-dollars; times Unix milliseconds. A budget's or limit's scope is
-- `tenant` (no ref), `department` (ref: department id, covers the subtree), `app` (ref:
-- app id) or `model` (ref: logical model name).

-- Budget periods run in the tenant's time zone (an IANA name).
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE budgets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_ref TEXT,
    -- 'day' | 'week' (from Monday) | 'month'
    period TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    -- 'hard' | 'soft'
    mode TEXT NOT NULL,
    reroute_to TEXT,
    -- 'deny' | 'local' | 'allow'
    on_server_down TEXT NOT NULL DEFAULT 'deny',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE rate_limits (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_ref TEXT,
    rpm BIGINT,
    tpm BIGINT,
    on_server_down TEXT NOT NULL DEFAULT 'deny',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- USD per million tokens, in micro-dollars (0.15 USD/1M is 150000).
CREATE TABLE price_overrides (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    upstream_model TEXT NOT NULL,
    input_micros_per_m BIGINT NOT NULL,
    output_micros_per_m BIGINT NOT NULL,
    cached_input_micros_per_m BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, upstream_model)
);

CREATE TABLE leases (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    instance TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    returned_at BIGINT
);
CREATE INDEX leases_app ON leases (tenant_id, app_id);

-- One row per (lease, budget or limit, period). For a budget: `granted`, `used`,
-- `ingested` in micro-dollars. For a limit: `granted` is the rpm share and `granted_tpm`
-- the tpm share. `want` is the instance's last ask (micro-dollars, or requests a minute).
CREATE TABLE lease_slices (
    lease_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    granted BIGINT NOT NULL,
    granted_tpm BIGINT,
    used BIGINT NOT NULL,
    ingested BIGINT NOT NULL,
    want BIGINT,
    PRIMARY KEY (lease_id, subject_id, period_start)
);
CREATE INDEX lease_slices_subject ON lease_slices (subject_id, period_start);

-- Rate shares given up (a returned lease, a shrunk share): they count against the limit
-- until `until_ms`, one window after they were last usable.
CREATE TABLE rate_cooling (
    limit_id TEXT NOT NULL,
    rpm BIGINT NOT NULL,
    tpm BIGINT NOT NULL,
    until_ms BIGINT NOT NULL
);
CREATE INDEX rate_cooling_limit ON rate_cooling (limit_id, until_ms);

-- Things the server noticed (a soft budget crossed): once per kind, subject and period.
CREATE TABLE server_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, subject_id, period_start)
);
CREATE INDEX server_events_time ON server_events (tenant_id, created_at);

ALTER TABLE usage_events ADD COLUMN lease_id TEXT;
