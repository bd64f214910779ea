//! One chunk of a streamed chat completion: OpenAI's ChatCompletionChunk.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;

/** A chunk of {@code createStreaming(...)}; its choices carry a {@link Choice#delta()}. */
public final class ChatCompletionChunk extends JsonObject {
    public ChatCompletionChunk(JsonNode node) {
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

    /** True on the marker a stream sends when it restarts on a fallback after its first
     *  chunk ({@code on_stream_error: restart}): the text so far is to be dropped. */
    public boolean isRestart() {
        return node.path("switchyard").path("restart").asBoolean(false);
    }
}
