//! The real management server binary for the tests: a fresh SQLite database, one tenant, its admin token, an app key.
package dev.switchyard;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code switchyard init} then {@code switchyard serve} on a free port (as the Node and Python tests do). */
final class Management implements AutoCloseable {
    final String url;
    final String token;
    final String appKey;
    private final Process process;

    private Management(String url, String token, Process process) {
        this.url = url;
        this.token = token;
        this.process = process;
        JsonNode departments = api("GET", "/api/v1/departments", null);
        JsonNode app = api("POST", "/api/v1/apps",
                Map.of("department_id", departments.get("items").get(0).get("id"), "name", "checkout"));
        this.appKey = api("POST", "/api/v1/apps/" + app.get("id").asText() + "/keys", Map.of("name", "sdk"))
                .get("secret").asText();
    }

    static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0)) {
            return probe.getLocalPort();
        }
    }

    static Management start(Path home) throws Exception {
        String binary = Mock.builtBinary("switchyard", "SWITCHYARD_SERVER_BIN").toString();
        if (!Files.isRegularFile(Path.of(binary))) {
            throw new IllegalStateException("server not built: " + binary + " (cargo build -p switchyard-server)");
        }
        String db = "sqlite://" + home.resolve("switchyard.db");
        Process init = new ProcessBuilder(binary, "--database-url", db, "init", "--tenant", "acme", "--password", "pw-for-tests-123")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(init.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (init.waitFor() != 0) {
            throw new IllegalStateException("init failed: " + out);
        }
        String token = out.lines().filter(l -> l.startsWith("token:")).findFirst().orElseThrow()
                .substring("token:".length()).trim();
        String addr = "127.0.0.1:" + freePort();
        Process serve = new ProcessBuilder(binary, "--database-url", db, "serve", "--listen", addr)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String url = "http://" + addr;
        for (int i = 0; ; i++) {
            try {
                HttpResponse<String> r = Mock.HTTP.send(HttpRequest.newBuilder(URI.create(url + "/readyz")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    break;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (i == 100) {
                serve.destroy();
                throw new IllegalStateException("the server did not get ready");
            }
            Thread.sleep(50);
        }
        return new Management(url, token, serve);
    }

    JsonNode api(String method, String route, Object body) {
        return Mock.http(method, url + route, body, Map.of("authorization", "Bearer " + token));
    }

    void activate(Map<String, ?> document) {
        JsonNode version = api("POST", "/api/v1/configs", Map.of("document", document));
        api("POST", "/api/v1/configs/" + version.get("id").asText() + "/activate", null);
    }

    /** The session's OpenAI config with {@code chat} under more names. */
    static Map<String, Object> configWith(Mock.Session session, String... aliases) {
        Map<String, Object> document = new LinkedHashMap<>(session.openaiConfig());
        @SuppressWarnings("unchecked")
        Map<String, Object> models = new LinkedHashMap<>((Map<String, Object>) document.get("models"));
        for (String alias : aliases) {
            models.put(alias, models.get("chat"));
        }
        document.put("models", models);
        return document;
    }

    /** Calls the server has taken in, by its usage report (the last day, every app). */
    long callsReported() {
        long n = 0;
        for (JsonNode series : api("GET", "/api/v1/usage", null).path("series")) {
            for (JsonNode point : series.path("points")) {
                n += point.path("calls").asLong();
            }
        }
        return n;
    }

    @Override
    public void close() {
        process.destroy();
    }
}
