-- Usage shipped by SDKs (POST /sdk/v1/usage): raw events, kept for the retention period,
-- and per-minute rollups, kept for good. Money is integer micro-dollars (sums are exact),
-- durations integer microseconds, flags BIGINT 0/1, tags and metadata JSON text. A
-- missing deployment or provider is ''. No foreign keys: an app deleted later keeps its
-- history, and ingestion checks nothing a key has not already proved.

CREATE TABLE usage_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    user_id TEXT,
    model TEXT NOT NULL,
    deployment TEXT NOT NULL,
    provider TEXT NOT NULL,
    upstream_model TEXT,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    latency_us BIGINT NOT NULL,
    ttft_us BIGINT,
    -- NULL: ok; else the error's code.
    error_code TEXT,
    cache_hit BIGINT NOT NULL,
    local BIGINT NOT NULL,
    stream BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    fallbacks BIGINT NOT NULL,
    fallback TEXT,
    arm TEXT,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX usage_events_time ON usage_events (time_ms);
CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, time_ms);

-- One row per (tenant, department, app, model, deployment, provider, minute). The latency
-- histogram's bucket bounds are in server/src/usage/histogram.rs (lat_0 .. lat_11).
CREATE TABLE usage_minute (
    tenant_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    department_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    model TEXT NOT NULL,
    deployment TEXT NOT NULL,
    provider TEXT NOT NULL,
    calls BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    cache_hits BIGINT NOT NULL,
    local_calls BIGINT NOT NULL,
    latency_us_sum BIGINT NOT NULL,
    lat_0 BIGINT NOT NULL,
    lat_1 BIGINT NOT NULL,
    lat_2 BIGINT NOT NULL,
    lat_3 BIGINT NOT NULL,
    lat_4 BIGINT NOT NULL,
    lat_5 BIGINT NOT NULL,
    lat_6 BIGINT NOT NULL,
    lat_7 BIGINT NOT NULL,
    lat_8 BIGINT NOT NULL,
    lat_9 BIGINT NOT NULL,
    lat_10 BIGINT NOT NULL,
    lat_11 BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, minute, department_id, app_id, model, deployment, provider)
);
