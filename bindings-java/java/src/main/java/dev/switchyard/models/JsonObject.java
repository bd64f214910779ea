//! The base of the answer types: a read-only view over the answer's JSON, which keeps every key the engine sent.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Answers are the OpenAI-shaped JSON the engine returns (docs/bindings.md, "Answers"); the
 * typed getters read it, {@link #json()} gives the whole of it (keys with no getter too).
 */
public abstract class JsonObject {
    protected final JsonNode node;

    protected JsonObject(JsonNode node) {
        this.node = node;
    }

    /** The object as the engine sent it. */
    public JsonNode json() {
        return node;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + node;
    }

    protected String string(String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? "" : v.asText();
    }

    protected Optional<String> optionalString(String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }

    protected long number(String key) {
        return node.path(key).asLong(0);
    }

    protected Optional<JsonNode> object(String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    protected <T> List<T> list(String key, Function<JsonNode, T> of) {
        JsonNode v = node.get(key);
        List<T> out = new ArrayList<>();
        if (v != null && v.isArray()) {
            v.forEach(item -> out.add(of.apply(item)));
        }
        return List.copyOf(out);
    }
}
