//! The request of a chat completion, built as openai-java builds it: builder().model(..).addUserMessage(..).build().
package dev.switchyard.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchyard.internal.Json;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An OpenAI chat completion request. The builder sets the common fields; {@link
 * Builder#putAdditionalBodyProperty} any other (tools, response_format, ...), and {@link
 * #fromMap} takes a whole request as a map. Nothing is checked here: the engine checks the
 * request and names the field at fault ({@code BadRequestException.field()}).
 */
public final class ChatCompletionCreateParams implements Json.Wire {
    private final Map<String, Object> body;

    private ChatCompletionCreateParams(Map<String, Object> body) {
        this.body = body;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A request given as a map of the OpenAI API's field names. */
    public static ChatCompletionCreateParams fromMap(Map<String, ?> request) {
        Map<String, Object> body = new LinkedHashMap<>(request);
        body.remove("stream");
        return new ChatCompletionCreateParams(body);
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.body.putAll(body);
        return b;
    }

    @Override
    public JsonNode toJson(String field) {
        return Json.tree(body, field);
    }

    public static final class Builder {
        private final Map<String, Object> body = new LinkedHashMap<>();
        /** The messages so far; null until set or added to. */
        private List<Object> messages;

        private Builder() {}

        public Builder model(String model) {
            return put("model", model);
        }

        /** Replaces the messages (maps of role, content, ...). */
        public Builder messages(List<?> messages) {
            this.messages = null;
            body.put("messages", messages);
            return this;
        }

        /** Adds a message: a map of the API's fields ({@code role}, {@code content}, ...). */
        public Builder addMessage(Map<String, ?> message) {
            if (messages == null) {
                messages = new ArrayList<>();
                if (body.get("messages") instanceof List<?> given) {
                    messages.addAll(given);
                }
            }
            messages.add(message);
            return this;
        }

        private Builder add(String role, String content) {
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", role);
            message.put("content", content);
            return addMessage(message);
        }

        public Builder addSystemMessage(String content) {
            return add("system", content);
        }

        public Builder addDeveloperMessage(String content) {
            return add("developer", content);
        }

        public Builder addUserMessage(String content) {
            return add("user", content);
        }

        public Builder addAssistantMessage(String content) {
            return add("assistant", content);
        }

        public Builder temperature(double temperature) {
            return put("temperature", temperature);
        }

        public Builder topP(double topP) {
            return put("top_p", topP);
        }

        public Builder maxTokens(long maxTokens) {
            return put("max_tokens", maxTokens);
        }

        public Builder maxCompletionTokens(long maxCompletionTokens) {
            return put("max_completion_tokens", maxCompletionTokens);
        }

        public Builder n(long n) {
            return put("n", n);
        }

        public Builder seed(long seed) {
            return put("seed", seed);
        }

        public Builder stop(List<String> stop) {
            return put("stop", stop);
        }

        /** The end user, as the OpenAI API's {@code user}. */
        public Builder user(String user) {
            return put("user", user);
        }

        /** Tools: maps of {@code type} and {@code function} ({@code name}, {@code parameters}). */
        public Builder tools(List<? extends Map<String, ?>> tools) {
            return put("tools", tools);
        }

        public Builder toolChoice(Object toolChoice) {
            return put("tool_choice", toolChoice);
        }

        public Builder responseFormat(Map<String, ?> responseFormat) {
            return put("response_format", responseFormat);
        }

        /** Any other field of the request, under its API name. */
        public Builder putAdditionalBodyProperty(String key, Object value) {
            return put(key, value);
        }

        private Builder put(String key, Object value) {
            body.put(key, value);
            return this;
        }

        public ChatCompletionCreateParams build() {
            Map<String, Object> out = new LinkedHashMap<>(body);
            if (messages != null) {
                out.put("messages", Collections.unmodifiableList(new ArrayList<>(messages)));
            }
            // Streaming is the method's choice (create or createStreaming), not the body's.
            out.remove("stream");
            return new ChatCompletionCreateParams(out);
        }
    }
}
