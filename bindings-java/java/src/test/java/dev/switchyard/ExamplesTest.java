//! examples/java: a Maven project depending on the installed artifact (`make java-sdk`), built with mvn and run against the mock.
package dev.switchyard;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ExamplesTest {
    static final Path EXAMPLE = Mock.ROOT.resolve("examples").resolve("java");

    static String run(Path dir, Map<String, String> env, List<String> command) throws Exception {
        ProcessBuilder b = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        b.environment().putAll(env);
        Process p = b.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), command + " failed:\n" + out);
        return out;
    }

    @Test
    void theQuickstartBuildsWithMavenAndRuns() throws Exception {
        Path installed = Paths.get(System.getProperty("user.home"), ".m2", "repository", "dev", "switchyard", "switchyard", "0.1.0");
        assertTrue(Files.isDirectory(installed), "the SDK is not installed in the local Maven repository: run `make java-sdk`");
        run(EXAMPLE, Map.of(), List.of("mvn", "-q", "-B", "package"));
        Mock.Session s = Mock.shared().session(Map.of());
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String out = run(EXAMPLE, Map.of("SWITCHYARD_MOCK_URL", s.url),
                List.of(java, "-cp", "target/classes:target/lib/*", "example.Quickstart"));
        assertTrue(out.contains("answer: Hello from gpt-4o-mini"), out);
        assertTrue(out.contains("served by: oa/gpt-4o-mini"), out);
        assertTrue(out.contains("second call from the cache: true"), out);
        assertTrue(out.contains("streamed: Hello from gpt-4o-mini"), out);
        assertTrue(out.contains("async: Hello from gpt-4o-mini"), out);
        assertTrue(out.contains("vectors: 2 x 8"), out);
        assertTrue(out.contains("refused: temperature"), out);
        assertTrue(out.contains("models: chat, embed"), out);
    }
}
