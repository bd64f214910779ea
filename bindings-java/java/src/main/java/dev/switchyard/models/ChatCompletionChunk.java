//! One chunk of a streamed chat completion: OpenAI's ChatCompletionChunk.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;

/** A chunk of {@code createStreaming(...)}; its choices carry a {@link Choice#delta()}. */
public final class ChatCompletionChunk extends ChatObject {
    public ChatCompletionChunk(JsonNode node) {
        super(node);
    }

    /** True on the marker a stream sends when it restarts on a fallback after its first
     *  chunk ({@code on_stream_error: restart}): the text so far is to be dropped. */
    public boolean isRestart() {
        return node.path("switchyard").path("restart").asBoolean(false);
    }
}
