//! What the pipeline did for a call (CallMeta): the model and deployment that answered, attempts, cache, fallback, cost.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/** The {@code switchyard} part of an answer (docs/bindings.md, "Answers"). */
public final class CallInfo extends JsonObject {
    public CallInfo(JsonNode node) {
        super(node);
    }

    /** The logical model that answered (another one after a fallback). */
    public String model() {
        return string("model");
    }

    public String deployment() {
        return string("deployment");
    }

    public String provider() {
        return string("provider");
    }

    public String upstreamModel() {
        return string("upstream_model");
    }

    /** Upstream attempts, retries and fallbacks included (0 for a cache hit). */
    public long attempts() {
        return number("attempts");
    }

    public boolean cacheHit() {
        return node.path("cache_hit").asBoolean(false);
    }

    /** The fallback model the call moved to. */
    public Optional<String> fallback() {
        return optionalString("fallback");
    }

    public double costUsd() {
        return node.path("cost_usd").asDouble(0);
    }

    public double latencyMs() {
        return node.path("latency_ms").asDouble(0);
    }

    /** Answered by the in-process model. */
    public boolean local() {
        return node.path("local").asBoolean(false);
    }
}
