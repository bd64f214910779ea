//! One choice of an answer or a chunk.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/** {@code choices[]}: its index, message (a chunk's: {@link #delta()}), finish reason. */
public final class Choice extends JsonObject {
    public Choice(JsonNode node) {
        super(node);
    }

    public long index() {
        return number("index");
    }

    public ChatCompletionMessage message() {
        return new ChatCompletionMessage(node.path("message"));
    }

    /** A chunk's delta. */
    public ChatCompletionMessage delta() {
        return new ChatCompletionMessage(node.path("delta"));
    }

    public Optional<String> finishReason() {
        return optionalString("finish_reason");
    }
}
