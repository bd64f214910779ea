//! A chat completion: OpenAI's ChatCompletion, with what the pipeline did under switchyard().
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;

/** The answer of {@code client.chat().completions().create(...)}. */
public final class ChatCompletion extends JsonObject {
    public ChatCompletion(JsonNode node) {
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

    public Optional<String> systemFingerprint() {
        return optionalString("system_fingerprint");
    }

    /** What the pipeline did: model, deployment, attempts, cache hit, fallback, cost. */
    public CallInfo switchyard() {
        return new CallInfo(node.path("switchyard"));
    }
}
