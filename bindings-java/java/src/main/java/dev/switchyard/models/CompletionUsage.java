//! Token counts of an answer (OpenAI's usage object).
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code usage}: prompt, completion and total tokens; cached prompt tokens. */
public final class CompletionUsage extends JsonObject {
    public CompletionUsage(JsonNode node) {
        super(node);
    }

    public long promptTokens() {
        return number("prompt_tokens");
    }

    public long completionTokens() {
        return number("completion_tokens");
    }

    public long totalTokens() {
        return number("total_tokens");
    }

    /** Prompt tokens served from the provider's prompt cache. */
    public long cachedTokens() {
        return node.path("prompt_tokens_details").path("cached_tokens").asLong(0);
    }
}
