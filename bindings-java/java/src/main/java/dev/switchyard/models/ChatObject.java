//! The fields a chat completion and its chunks share: id, created, model, choices, usage.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;

/** The common part of {@link ChatCompletion} and {@link ChatCompletionChunk}. */
public abstract class ChatObject extends JsonObject {
    protected ChatObject(JsonNode node) {
        super(node);
    }

    public String id() {
        return string("id");
    }

    public long created() {
        return number("created");
    }

    public String model() {
        return string("model");
    }

    public List<Choice> choices() {
        return list("choices", Choice::new);
    }

    public Optional<CompletionUsage> usage() {
        return object("usage").map(CompletionUsage::new);
    }
}
