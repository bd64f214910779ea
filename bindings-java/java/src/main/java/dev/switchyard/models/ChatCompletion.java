//! A chat completion: OpenAI's ChatCompletion, with what the pipeline did under switchyard().
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/** The answer of {@code client.chat().completions().create(...)}. */
public final class ChatCompletion extends ChatObject {
    public ChatCompletion(JsonNode node) {
        super(node);
    }

    public Optional<String> systemFingerprint() {
        return optionalString("system_fingerprint");
    }

    /** What the pipeline did: model, deployment, attempts, cache hit, fallback, cost. */
    public CallInfo switchyard() {
        return new CallInfo(node.path("switchyard"));
    }
}
