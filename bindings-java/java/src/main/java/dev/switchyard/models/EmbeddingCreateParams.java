//! The request of an embeddings call: builder().model(..).input(..).build().
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchyard.internal.Json;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An OpenAI embeddings request; checked by the engine, as chat requests are. */
public final class EmbeddingCreateParams implements Json.Wire {
    private final Map<String, Object> body;

    private EmbeddingCreateParams(Map<String, Object> body) {
        this.body = body;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static EmbeddingCreateParams fromMap(Map<String, ?> request) {
        return new EmbeddingCreateParams(new LinkedHashMap<>(request));
    }

    @Override
    public JsonNode toJson(String field) {
        return Json.tree(body, field);
    }

    public static final class Builder {
        private final Map<String, Object> body = new LinkedHashMap<>();

        private Builder() {}

        public Builder model(String model) {
            body.put("model", model);
            return this;
        }

        public Builder input(String input) {
            body.put("input", input);
            return this;
        }

        public Builder input(List<String> inputs) {
            body.put("input", inputs);
            return this;
        }

        public Builder dimensions(long dimensions) {
            body.put("dimensions", dimensions);
            return this;
        }

        public Builder user(String user) {
            body.put("user", user);
            return this;
        }

        public Builder putAdditionalBodyProperty(String key, Object value) {
            body.put(key, value);
            return this;
        }

        public EmbeddingCreateParams build() {
            return new EmbeddingCreateParams(new LinkedHashMap<>(body));
        }
    }
}
