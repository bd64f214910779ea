//! The client's async view: the same calls returning CompletableFutures, completed from the engine; cancel() drops the call.
package dev.switchyard;

import dev.switchyard.internal.Json;
import dev.switchyard.internal.NativeCall;
import dev.switchyard.models.ChatCompletion;
import dev.switchyard.models.ChatCompletionChunk;
import dev.switchyard.models.ChatCompletionCreateParams;
import dev.switchyard.models.CreateEmbeddingResponse;
import dev.switchyard.models.EmbeddingCreateParams;
import dev.switchyard.models.ModelList;
import dev.switchyard.errors.SwitchyardException;
import java.util.concurrent.CompletableFuture;

/**
 * {@code client.async()}. Every call runs on the engine and completes its future on the
 * common pool (never on an engine thread). {@code future.cancel(true)} drops the call and
 * its upstream request. Bad input fails the future with a {@code BadRequestException}.
 */
public final class SwitchyardAsync {
    private final Switchyard sync;

    SwitchyardAsync(Switchyard sync) {
        this.sync = sync;
    }

    /** The blocking client this view belongs to. */
    public Switchyard sync() {
        return sync;
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

    private <T> CompletableFuture<T> start(String kind, Json.Wire params, CallOptions options, NativeCall<T> call) {
        try {
            sync.client.start(kind, Switchyard.request(params), sync.options(options), call);
        } catch (SwitchyardException e) {
            call.completeExceptionally(e);
        }
        return call;
    }

    /** {@code client.async().chat()}. */
    public final class Chat {
        private Chat() {}

        public ChatCompletions completions() {
            return new ChatCompletions();
        }
    }

    /** {@code client.async().chat().completions()}. */
    public final class ChatCompletions {
        private ChatCompletions() {}

        public CompletableFuture<ChatCompletion> create(ChatCompletionCreateParams params) {
            return create(params, null);
        }

        public CompletableFuture<ChatCompletion> create(ChatCompletionCreateParams params, CallOptions options) {
            return start("chat", params, options, new NativeCall<>(json -> new ChatCompletion(Json.parse(json)), null));
        }

        /** Completes once the first chunk is in; the stream is then read as the sync one is. */
        public CompletableFuture<StreamResponse<ChatCompletionChunk>> createStreaming(ChatCompletionCreateParams params) {
            return createStreaming(params, null);
        }

        public CompletableFuture<StreamResponse<ChatCompletionChunk>> createStreaming(
                ChatCompletionCreateParams params, CallOptions options) {
            return start("stream", params, options,
                    new NativeCall<>(null, handle -> new StreamResponse<>(handle, Switchyard::chunk)));
        }
    }

    /** {@code client.async().embeddings()}. */
    public final class Embeddings {
        private Embeddings() {}

        public CompletableFuture<CreateEmbeddingResponse> create(EmbeddingCreateParams params) {
            return create(params, null);
        }

        public CompletableFuture<CreateEmbeddingResponse> create(EmbeddingCreateParams params, CallOptions options) {
            return start("embed", params, options,
                    new NativeCall<>(json -> new CreateEmbeddingResponse(Json.parse(json)), null));
        }
    }

    /** {@code client.async().models()}. */
    public final class Models {
        private Models() {}

        public CompletableFuture<ModelList> list() {
            try {
                return CompletableFuture.completedFuture(sync.models().list());
            } catch (SwitchyardException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
    }
}
