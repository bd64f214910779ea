//! Switchyard from Java: a chat call and its call info, the cache, a stream, an async call, embeddings, an error naming its field, the models.
//!
//! Run against the mock provider (from the repository root):
//!
//!     make java-sdk && (cd examples/java && mvn -q package)
//!     target/debug/switchyard-mock --addr 127.0.0.1:0   # prints: listening on http://127.0.0.1:PORT
//!     SWITCHYARD_MOCK_URL=http://127.0.0.1:PORT java -cp 'examples/java/target/classes:examples/java/target/lib/*' example.Quickstart
package example;

import dev.switchyard.StreamResponse;
import dev.switchyard.Switchyard;
import dev.switchyard.errors.BadRequestException;
import dev.switchyard.models.ChatCompletion;
import dev.switchyard.models.ChatCompletionChunk;
import dev.switchyard.models.ChatCompletionCreateParams;
import dev.switchyard.models.CreateEmbeddingResponse;
import dev.switchyard.models.EmbeddingCreateParams;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

public final class Quickstart {
    private Quickstart() {}

    /** The same document as a switchyard.yaml, as maps. */
    static Map<String, Object> config(String baseUrl) {
        return Map.of(
                "version", 1,
                "providers", Map.of("oa", Map.of("kind", "openai", "base_url", baseUrl + "/v1", "api_key", "sk-demo")),
                "models", Map.of(
                        "chat", Map.of("deployments", List.of(Map.of("provider", "oa", "model", "gpt-4o-mini"))),
                        "embed", Map.of("type", "embedding",
                                "deployments", List.of(Map.of("provider", "oa", "model", "text-embedding-3-small")))));
    }

    public static void main(String[] args) {
        String baseUrl = System.getenv().getOrDefault("SWITCHYARD_MOCK_URL", "http://127.0.0.1:8080");
        try (Switchyard client = Switchyard.builder().config(config(baseUrl)).build()) {
            ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                    .model("chat")
                    .addUserMessage("Say hello.")
                    .temperature(0)
                    .build();

            ChatCompletion r = client.chat().completions().create(params);
            System.out.println("answer: " + r.choices().get(0).message().content().orElse(""));
            System.out.println("tokens: " + r.usage().map(u -> u.totalTokens()).orElse(0L));
            System.out.printf("served by: %s $%.6f%n", r.switchyard().deployment(), r.switchyard().costUsd());

            ChatCompletion again = client.chat().completions().create(params);
            System.out.println("second call from the cache: " + again.switchyard().cacheHit());

            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
                String text = stream.stream()
                        .flatMap(chunk -> chunk.choices().stream())
                        .map(choice -> choice.delta().content().orElse(""))
                        .collect(Collectors.joining());
                System.out.println("streamed: " + text);
            }

            String async = client.async().chat().completions().create(params)
                    .thenApply(answer -> answer.choices().get(0).message().content().orElse(""))
                    .join();
            System.out.println("async: " + async);

            CreateEmbeddingResponse vectors = client.embeddings().create(
                    EmbeddingCreateParams.builder().model("embed").input(List.of("a", "b")).build());
            System.out.println("vectors: " + vectors.data().size() + " x " + vectors.data().get(0).embedding().length);

            try {
                client.chat().completions().create(params.toBuilder().temperature(7).build());
            } catch (BadRequestException e) {
                System.out.println("refused: " + e.field().orElse("?") + " (" + e.detail() + ")");
            }

            System.out.println("models: " + client.models().list().data().stream()
                    .map(m -> m.id()).sorted().collect(Collectors.joining(", ")));
        }
    }
}
