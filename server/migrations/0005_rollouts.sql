-- Rollouts (docs/rollouts.md): a model's candidate version taken step by step from a few
-- percent of traffic to all of it, or back to the baseline when a guard is breached. The
-- steps and guards are JSON text; `evidence` is what the last decision saw (JSON text).
-- States: running, paused, completed, rolled_back.

CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    baseline TEXT NOT NULL,
    candidate TEXT NOT NULL,
    sticky_by TEXT NOT NULL,
    steps TEXT NOT NULL,
    guards TEXT NOT NULL,
    state TEXT NOT NULL,
    step BIGINT NOT NULL,
    step_started_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX rollouts_state ON rollouts (state);

-- The arm comparison reads raw events of one model since a step began.
CREATE INDEX usage_events_tenant_model_time ON usage_events (tenant_id, model, time_ms);

-- Per-minute rollups per rollout arm, like usage_minute (same sums and latency histogram)
-- but keyed by (model, arm) instead of (model, deployment, provider); only events that
-- name an arm. Kept for good: the A/B report's series outlives the raw events.
CREATE TABLE usage_arm_minute (
    tenant_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    department_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    model TEXT NOT NULL,
    arm TEXT NOT NULL,
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
    PRIMARY KEY (tenant_id, minute, department_id, app_id, model, arm)
);
