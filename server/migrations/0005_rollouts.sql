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
