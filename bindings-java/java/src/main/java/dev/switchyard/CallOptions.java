//! Per-call options (docs/bindings.md, "Call options"): the same names in every SDK, checked by the engine.
package dev.switchyard;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchyard.internal.Json;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code CallOptions.builder().timeout(Duration.ofSeconds(5)).user("u1").build()}, passed
 * to a call or to {@link Switchyard#withOptions}. A mistyped or unknown option is a {@code
 * BadRequestException} naming it, raised by the engine before anything is sent.
 */
public final class CallOptions implements Json.Wire {
    private static final CallOptions NONE = new CallOptions(Map.of());
    private final Map<String, Object> options;

    private CallOptions(Map<String, Object> options) {
        this.options = options;
    }

    public static CallOptions none() {
        return NONE;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options given as a map of their names ({@code timeout} in seconds, {@code max_retries}, ...). */
    public static CallOptions fromMap(Map<String, ?> options) {
        return new CallOptions(new LinkedHashMap<>(options));
    }

    /** These options with {@code over}'s on top. */
    public CallOptions with(CallOptions over) {
        if (over == null || over.options.isEmpty()) {
            return this;
        }
        Map<String, Object> merged = new LinkedHashMap<>(options);
        merged.putAll(over.options);
        return new CallOptions(merged);
    }

    boolean isEmpty() {
        return options.isEmpty();
    }

    @Override
    public JsonNode toJson(String field) {
        return Json.tree(options, field);
    }

    public static final class Builder {
        private final Map<String, Object> options = new LinkedHashMap<>();

        private Builder() {}

        /** For the whole call, retries and fallbacks included. */
        public Builder timeout(Duration timeout) {
            return put("timeout", timeout);
        }

        /** Who the call is for: budgets, limits, usage, sticky rollouts. */
        public Builder user(String user) {
            return put("user", user);
        }

        public Builder session(String session) {
            return put("session", session);
        }

        public Builder tenant(String tenant) {
            return put("tenant", tenant);
        }

        public Builder app(String app) {
            return put("app", app);
        }

        public Builder tags(List<String> tags) {
            return put("tags", tags);
        }

        /** Labels carried into the usage event, never sent upstream. */
        public Builder metadata(Map<String, String> metadata) {
            return put("metadata", metadata);
        }

        /** {@code default}, {@code bypass}, {@code refresh} or {@code enable}. */
        public Builder cache(String cache) {
            return put("cache", cache);
        }

        public Builder cache(boolean cache) {
            return put("cache", cache);
        }

        /** Send the call to this deployment of the model only. */
        public Builder deployment(String deployment) {
            return put("deployment", deployment);
        }

        /** At most this many retries on each model the call reaches (0: try each once). */
        public Builder maxRetries(long maxRetries) {
            return put("max_retries", maxRetries);
        }

        /** Any option by its name. */
        public Builder put(String name, Object value) {
            options.put(name, value);
            return this;
        }

        public CallOptions build() {
            return new CallOptions(new LinkedHashMap<>(options));
        }
    }
}
