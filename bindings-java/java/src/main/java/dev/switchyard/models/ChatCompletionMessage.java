//! The message of a choice (an answer's) or its delta (a chunk's).
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;

/** {@code choices[].message} (or, in a chunk, {@code choices[].delta}). */
public final class ChatCompletionMessage extends JsonObject {
    public ChatCompletionMessage(JsonNode node) {
        super(node);
    }

    public Optional<String> role() {
        return optionalString("role");
    }

    public Optional<String> content() {
        return optionalString("content");
    }

    public Optional<String> refusal() {
        return optionalString("refusal");
    }

    public List<ToolCall> toolCalls() {
        return list("tool_calls", ToolCall::new);
    }
}
