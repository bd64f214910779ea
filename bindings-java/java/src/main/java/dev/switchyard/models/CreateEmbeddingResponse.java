//! An embeddings answer: OpenAI's CreateEmbeddingResponse, with switchyard().
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** The answer of {@code client.embeddings().create(...)}. */
public final class CreateEmbeddingResponse extends JsonObject {
    public CreateEmbeddingResponse(JsonNode node) {
        super(node);
    }

    public String model() {
        return string("model");
    }

    public List<Embedding> data() {
        return list("data", Embedding::new);
    }

    public CompletionUsage usage() {
        return new CompletionUsage(node.path("usage"));
    }

    public CallInfo switchyard() {
        return new CallInfo(node.path("switchyard"));
    }

    /** One vector, at the index of its input. */
    public static final class Embedding extends JsonObject {
        public Embedding(JsonNode node) {
            super(node);
        }

        public long index() {
            return number("index");
        }

        public double[] embedding() {
            JsonNode v = node.path("embedding");
            double[] out = new double[v.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = v.get(i).asDouble();
            }
            return out;
        }
    }
}
