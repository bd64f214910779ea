//! The mock provider for the tests: one process for the test JVM, a session per test (as the Python and Node tests do).
package dev.switchyard;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchyard.internal.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

/** {@code Mock.shared()} starts {@code switchyard-mock} once; {@link #session} scripts one. */
final class Mock {
    static final Path ROOT = Paths.get(System.getenv().getOrDefault("SWITCHYARD_ROOT", "../..")).toAbsolutePath().normalize();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    private static Mock shared;

    final String url;
    private final Process process;

    private Mock(Process process, String url) {
        this.process = process;
        this.url = url;
    }

    /** A binary of the cargo build: {@code env} when set, else the debug target directory's. */
    static Path builtBinary(String name, String env) {
        String given = System.getenv(env);
        if (given != null && !given.isEmpty()) {
            return Paths.get(given);
        }
        String target = System.getenv().getOrDefault("CARGO_TARGET_DIR", ROOT.resolve("target").toString());
        return Paths.get(target, "debug", name);
    }

    static synchronized Mock shared() {
        if (shared == null) {
            try {
                Process p = new ProcessBuilder(builtBinary("switchyard-mock", "SWITCHYARD_MOCK_BIN").toString(),
                                "--addr", "127.0.0.1:0")
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String line = out.readLine();
                if (line == null || !line.startsWith("listening on ")) {
                    throw new IllegalStateException("mock did not start: " + line);
                }
                shared = new Mock(p, line.substring("listening on ".length()));
                Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return shared;
    }

    static JsonNode http(String method, String url, Object body) {
        return http(method, url, body, Map.of());
    }

    /** A JSON request; a status other than 2xx fails. */
    static JsonNode http(String method, String url, Object body, Map<String, String> headers) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("content-type", "application/json");
            headers.forEach(b::header);
            b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(Json.write(Json.tree(body, ""))));
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException(method + " " + url + ": " + r.statusCode() + " " + r.body());
            }
            return r.body().isEmpty() ? null : Json.parse(r.body());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Session session(Map<String, ?> script) {
        JsonNode created = http("POST", url + "/_mock/sessions", script);
        return new Session(created.get("id").asText());
    }

    final class Session {
        final String id;
        final String url;

        Session(String id) {
            this.id = id;
            this.url = Mock.this.url + "/s/" + id;
        }

        JsonNode counters() {
            return http("GET", Mock.this.url + "/_mock/sessions/" + id + "/counters", null);
        }

        JsonNode requests() {
            return http("GET", Mock.this.url + "/_mock/sessions/" + id + "/requests", null);
        }

        /** The usage batches shipped to this session: {@code [{raw, events}]}. */
        JsonNode usage() {
            return http("GET", Mock.this.url + "/_mock/sessions/" + id + "/usage", null);
        }

        long total() {
            return counters().path("total").asLong();
        }

        /** One OpenAI provider on this session; models {@code chat} and {@code embed}. */
        Map<String, Object> openaiConfig(Map<String, ?> extra) {
            Map<String, Object> chat = new java.util.LinkedHashMap<>();
            chat.put("deployments", List.of(Map.of("provider", "oa", "model", "gpt-4o-mini")));
            chat.putAll(extra);
            return Map.of(
                    "version", 1,
                    "providers", Map.of("oa", Map.of("kind", "openai", "base_url", url + "/v1")),
                    "models", Map.of(
                            "chat", chat,
                            "embed", Map.of("type", "embedding",
                                    "deployments", List.of(Map.of("provider", "oa", "model", "text-embedding-3-small")))));
        }

        Map<String, Object> openaiConfig() {
            return openaiConfig(Map.of());
        }

        Switchyard client() {
            return Switchyard.builder().config(openaiConfig()).build();
        }
    }

    void stop() {
        process.destroy();
    }
}
