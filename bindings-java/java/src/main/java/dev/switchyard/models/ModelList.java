//! The logical models a client may name, as OpenAI's model list.
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** The answer of {@code client.models().list()}: the config's model aliases. */
public final class ModelList extends JsonObject {
    public ModelList(JsonNode node) {
        super(node);
    }

    public List<Model> data() {
        return list("data", Model::new);
    }

    /** One logical model. */
    public static final class Model extends JsonObject {
        public Model(JsonNode node) {
            super(node);
        }

        public String id() {
            return string("id");
        }

        public String ownedBy() {
            return string("owned_by");
        }

        public long created() {
            return number("created");
        }
    }
}
