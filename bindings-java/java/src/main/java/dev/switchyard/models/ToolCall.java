//! A tool call of an answer, or a piece of one in a streamed delta.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/** {@code tool_calls[]}: id, and the function's name and arguments (JSON text). In a
 *  chunk every field may be missing and {@link #index()} says which call it extends. */
public final class ToolCall extends JsonObject {
    public ToolCall(JsonNode node) {
        super(node);
    }

    public long index() {
        return number("index");
    }

    public Optional<String> id() {
        return optionalString("id");
    }

    public Optional<String> name() {
        JsonNode v = node.path("function").get("name");
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }

    public Optional<String> arguments() {
        JsonNode v = node.path("function").get("arguments");
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }
}
