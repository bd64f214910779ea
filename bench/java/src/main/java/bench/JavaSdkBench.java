//! The Java SDK bench: per-call p50 of a chat completion and a stream's time to first chunk, Switchyard against raw java.net.http and openai-java, on the mock.
package bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code JavaSdkBench MOCK_SESSION_URL [CALLS]}. Each client makes the same request to the
 * same mock session, one call at a time; the clients take turns in rounds (so drift in the
 * machine's load hits all of them), after a warm-up. Prints the medians and the ratios.
 */
public final class JavaSdkBench {
    private JavaSdkBench() {}

    static final ObjectMapper JSON = new ObjectMapper();
    static final String BODY = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String STREAM_BODY = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    interface Case {
        void call() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        int rounds = 5;

        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI endpoint = URI.create(base + "/v1/chat/completions");
        Case raw = () -> {
            HttpRequest request = HttpRequest.newBuilder(endpoint)
                    .header("content-type", "application/json").header("authorization", "Bearer sk-bench")
                    .POST(HttpRequest.BodyPublishers.ofString(BODY)).build();
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            JsonNode answer = JSON.readTree(r.body());
            check(answer.path("choices").get(0).path("message").path("content").asText());
        };
        Case rawStream = () -> {
            HttpRequest request = HttpRequest.newBuilder(endpoint)
                    .header("content-type", "application/json").header("authorization", "Bearer sk-bench")
                    .POST(HttpRequest.BodyPublishers.ofString(STREAM_BODY)).build();
            HttpResponse<java.io.InputStream> r = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith("data: ") && line.contains("\"content\"")) {
                        JSON.readTree(line.substring(6));
                        return;
                    }
                }
            }
            throw new IllegalStateException("no chunk");
        };

        com.openai.client.OpenAIClient openai = com.openai.client.okhttp.OpenAIOkHttpClient.builder()
                .apiKey("sk-bench").baseUrl(base + "/v1").maxRetries(0).build();
        com.openai.models.chat.completions.ChatCompletionCreateParams openaiParams =
                com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                        .model("gpt-4o-mini").addUserMessage("hi").build();
        Case openaiCall = () -> check(openai.chat().completions().create(openaiParams)
                .choices().get(0).message().content().orElse(""));
        Case openaiStream = () -> {
            try (com.openai.core.http.StreamResponse<com.openai.models.chat.completions.ChatCompletionChunk> s =
                    openai.chat().completions().createStreaming(openaiParams)) {
                s.stream().filter(c -> !c.choices().isEmpty() && c.choices().get(0).delta().content().isPresent())
                        .findFirst().orElseThrow();
            }
        };

        Map<String, Object> config = Map.of(
                "version", 1,
                "providers", Map.of("oa", Map.of("kind", "openai", "base_url", base + "/v1", "api_key", "sk-bench")),
                "models", Map.of("chat", Map.of("deployments", List.of(Map.of("provider", "oa", "model", "gpt-4o-mini")))));
        dev.switchyard.Switchyard switchyard = dev.switchyard.Switchyard.builder().config(config).build();
        dev.switchyard.models.ChatCompletionCreateParams params =
                dev.switchyard.models.ChatCompletionCreateParams.builder().model("chat").addUserMessage("hi").build();
        Case sdk = () -> {
            dev.switchyard.models.ChatCompletion r = switchyard.chat().completions().create(params);
            if (r.switchyard().cacheHit()) {
                throw new IllegalStateException("a cache hit would not measure the call");
            }
            check(r.choices().get(0).message().content().orElse(""));
        };
        Case sdkAsync = () -> check(switchyard.async().chat().completions().create(params).join()
                .choices().get(0).message().content().orElse(""));
        Case sdkStream = () -> {
            try (dev.switchyard.StreamResponse<dev.switchyard.models.ChatCompletionChunk> s =
                    switchyard.chat().completions().createStreaming(params)) {
                s.stream().filter(c -> !c.choices().isEmpty() && c.choices().get(0).delta().content().isPresent())
                        .findFirst().orElseThrow();
            }
        };

        Map<String, Case> cases = new LinkedHashMap<>();
        cases.put("raw java.net.http", raw);
        cases.put("openai-java 4.15.0", openaiCall);
        cases.put("switchyard (sync)", sdk);
        cases.put("switchyard (async)", sdkAsync);
        cases.put("stream TTFT raw java.net.http", rawStream);
        cases.put("stream TTFT openai-java", openaiStream);
        cases.put("stream TTFT switchyard", sdkStream);

        Map<String, List<Long>> samples = new LinkedHashMap<>();
        for (Map.Entry<String, Case> c : cases.entrySet()) {
            time(c.getValue(), Math.max(200, calls / 5));
            samples.put(c.getKey(), new ArrayList<>());
        }
        for (int round = 0; round < rounds; round++) {
            for (Map.Entry<String, Case> c : cases.entrySet()) {
                samples.get(c.getKey()).addAll(time(c.getValue(), calls / rounds));
            }
        }
        Map<String, Double> p50 = new LinkedHashMap<>();
        System.out.printf("%-32s %10s %10s%n", "client (" + calls + " calls each)", "p50 us", "p90 us");
        for (Map.Entry<String, List<Long>> s : samples.entrySet()) {
            long[] sorted = s.getValue().stream().mapToLong(Long::longValue).sorted().toArray();
            double median = sorted[sorted.length / 2] / 1000.0;
            p50.put(s.getKey(), median);
            System.out.printf("%-32s %10.1f %10.1f%n", s.getKey(), median, sorted[sorted.length * 9 / 10] / 1000.0);
        }
        System.out.printf("ratio switchyard / raw java.net.http: %.2f (async %.2f)%n",
                p50.get("switchyard (sync)") / p50.get("raw java.net.http"),
                p50.get("switchyard (async)") / p50.get("raw java.net.http"));
        System.out.printf("ratio switchyard / openai-java: %.2f%n", p50.get("switchyard (sync)") / p50.get("openai-java 4.15.0"));
        System.out.printf("stream TTFT ratio switchyard / raw: %.2f, / openai-java: %.2f%n",
                p50.get("stream TTFT switchyard") / p50.get("stream TTFT raw java.net.http"),
                p50.get("stream TTFT switchyard") / p50.get("stream TTFT openai-java"));
        switchyard.close();
        System.exit(0);
    }

    static void check(String text) {
        if (text.isEmpty()) {
            throw new IllegalStateException("empty answer");
        }
    }

    static List<Long> time(Case c, int n) throws Exception {
        List<Long> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long started = System.nanoTime();
            c.call();
            out.add(System.nanoTime() - started);
        }
        return out;
    }

}
