//! The client: Switchyard.builder()...build(), shaped like openai-java's (chat().completions().create(...), embeddings(), models(), async()).
package dev.switchyard;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchyard.internal.Errors;
import dev.switchyard.internal.Json;
import dev.switchyard.internal.Native;
import dev.switchyard.internal.NativeClient;
import dev.switchyard.internal.NativeException;
import dev.switchyard.models.ChatCompletion;
import dev.switchyard.models.ChatCompletionChunk;
import dev.switchyard.models.ChatCompletionCreateParams;
import dev.switchyard.models.CreateEmbeddingResponse;
import dev.switchyard.models.EmbeddingCreateParams;
import dev.switchyard.models.ModelList;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Switchyard engine in this process. Thread-safe: share one client. Calls wait on the
 * calling thread (interrupting it cancels the call); {@link #async()} returns
 * {@code CompletableFuture}s instead. {@link #close()} lets calls in flight finish and
 * flushes usage; a JVM that exits without it still ships the usage recorded.
 */
public final class Switchyard implements AutoCloseable {
    final NativeClient client;
    final CallOptions defaults;

    Switchyard(NativeClient client, CallOptions defaults) {
        this.client = client;
        this.defaults = defaults;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A client configured by the environment: {@code SWITCHYARD_CONFIG} (a file), or
     *  {@code SWITCHYARD_SERVER} and {@code SWITCHYARD_API_KEY}. */
    public static Switchyard fromEnv() {
        return builder().build();
    }

    /** The engine's version. */
    public static String version() {
        Native.ensureLoaded();
        return Native.version();
    }

    /** A client sharing this one's engine whose calls take {@code options} by default (a
     *  call's own options win). Options are checked here. */
    public Switchyard withOptions(CallOptions options) {
        CallOptions merged = defaults.with(options);
        try {
            Native.checkOptions(Json.write(merged.toJson("")));
        } catch (NativeException e) {
            throw Errors.from(e);
        }
        return new Switchyard(client, merged);
    }

    public Chat chat() {
        return new Chat();
    }

    public Embeddings embeddings() {
        return new Embeddings();
    }

    public Models models() {
        return new Models();
    }

    /** The same client with methods returning {@code CompletableFuture}s. */
    public SwitchyardAsync async() {
        return new SwitchyardAsync(this);
    }

    /** Calls, latencies, tokens, cost and errors so far, per model and deployment. */
    public JsonNode metrics() {
        return Json.parse(client.read(1));
    }

    /** The config in force (secrets as references, never keys). */
    public JsonNode config() {
        return Json.parse(client.read(2));
    }

    /** Swaps in a new config file; an invalid one is a {@code ConfigException} and the old one stays. */
    public void reload(Path configFile) {
        client.reload(Json.text(configFile.toString(), "config"));
    }

    /** Swaps in a new config document. */
    public void reload(Map<String, ?> config) {
        client.reload(Json.text(config, "config"));
    }

    /** Waits until the usage recorded so far reached the server (or, with it away, its spool). */
    public void flush() {
        client.flush();
    }

    /** Lets calls in flight finish (canceling them after 5 s), stops the watcher, flushes
     *  usage. Later calls fail with {@code UnavailableException}. Shared by {@link #withOptions} copies. */
    @Override
    public void close() {
        client.close();
    }

    public boolean isClosed() {
        return client.isClosed();
    }

    String options(CallOptions options) {
        CallOptions merged = options == null ? defaults : defaults.with(options);
        return merged.isEmpty() ? null : Json.write(merged.toJson(""));
    }

    static String request(Json.Wire params) {
        if (params == null) {
            throw Errors.badRequest("params", "expected the request's params, got null");
        }
        return Json.write(params.toJson(""));
    }

    /** {@code client.chat()}. */
    public final class Chat {
        private Chat() {}

        public ChatCompletions completions() {
            return new ChatCompletions();
        }
    }

    /** {@code client.chat().completions()}. */
    public final class ChatCompletions {
        private ChatCompletions() {}

        public ChatCompletion create(ChatCompletionCreateParams params) {
            return create(params, null);
        }

        public ChatCompletion create(ChatCompletionCreateParams params, CallOptions options) {
            return new ChatCompletion(Json.parse(client.chat(request(params), options(options))));
        }

        /** Returns once the first chunk is in (the call's fallbacks and retries done). */
        public StreamResponse<ChatCompletionChunk> createStreaming(ChatCompletionCreateParams params) {
            return createStreaming(params, null);
        }

        public StreamResponse<ChatCompletionChunk> createStreaming(
                ChatCompletionCreateParams params, CallOptions options) {
            long stream = client.chatStream(request(params), options(options));
            return new StreamResponse<>(stream, Switchyard::chunk);
        }
    }

    /** {@code client.embeddings()}. */
    public final class Embeddings {
        private Embeddings() {}

        public CreateEmbeddingResponse create(EmbeddingCreateParams params) {
            return create(params, null);
        }

        public CreateEmbeddingResponse create(EmbeddingCreateParams params, CallOptions options) {
            return new CreateEmbeddingResponse(Json.parse(client.embed(request(params), options(options))));
        }
    }

    /** {@code client.models()}. */
    public final class Models {
        private Models() {}

        /** The logical models of the config (answered at once, no I/O). */
        public ModelList list() {
            return new ModelList(Json.parse(client.read(0)));
        }
    }

    static ChatCompletionChunk chunk(String json) {
        return new ChatCompletionChunk(Json.parse(json));
    }

    /**
     * Exactly one config source: {@link #configFile}, {@link #config}, or {@link #server}
     * with its key; none given, the environment decides. Conflicts and a bad config fail in
     * {@link #build()} (a {@code BadRequestException} naming the argument, a {@code ConfigException}).
     */
    public static final class Builder {
        private final Map<String, Object> spec = new LinkedHashMap<>();

        private Builder() {}

        /** A config file (YAML or JSON). */
        public Builder configFile(Path path) {
            spec.put("config", path == null ? null : path.toString());
            return this;
        }

        public Builder configFile(String path) {
            spec.put("config", path);
            return this;
        }

        /** The config document itself (docs/configuration.md) as maps and lists. */
        public Builder config(Map<String, ?> config) {
            spec.put("config", config);
            return this;
        }

        /** With a file: re-read it when it changes, checking this often. */
        public Builder watch(Duration every) {
            spec.put("watch", every);
            return this;
        }

        /** The management server and the app's key: the config comes from there. */
        public Builder server(String url, String apiKey) {
            spec.put("server", url);
            spec.put("api_key", apiKey);
            return this;
        }

        /** With a server: a file keeping the last config, to start from while the server is down. */
        public Builder configCache(Path path) {
            spec.put("config_cache", path == null ? null : path.toString());
            return this;
        }

        /** An OTLP/HTTP collector's base URL: spans and GenAI metrics exported. */
        public Builder otlpEndpoint(String url) {
            spec.put("otlp_endpoint", url);
            return this;
        }

        public Builder serviceName(String name) {
            spec.put("service_name", name);
            return this;
        }

        /** Builds the engine now; a server source waits here for its first config. */
        public Switchyard build() {
            Native.ensureLoaded();
            return new Switchyard(new NativeClient(Json.write(Json.tree(spec, ""))), CallOptions.none());
        }
    }
}
