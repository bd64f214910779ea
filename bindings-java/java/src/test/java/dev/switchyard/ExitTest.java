//! A program using the SDK exits with status 0, promptly, once its calls are done (with and without close, a stream left open, many calls, a call still in flight), and loses no usage at exit.
package dev.switchyard;

import static org.junit.jupiter.api.Assertions.*;

import dev.switchyard.internal.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ExitTest {
    static final Mock MOCK = Mock.shared();
    /** Generous for a loaded 2-core machine; a JVM kept alive hangs until the kill instead. */
    static final long LIMIT_MS = 8000;
    static final int RUNS = Integer.parseInt(System.getenv().getOrDefault("SWITCHYARD_EXIT_RUNS", "2"));

    record Run(int code, long ms, String stderr) {}

    static Run run(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ExitProgram.class.getName());
        command.addAll(List.of(args));
        long started = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(LIMIT_MS * 2, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
        }
        return new Run(p.exitValue(), (System.nanoTime() - started) / 1_000_000, new String(err, StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(strings = {"one", "one-closed", "many", "stream-left-open", "pending-async"})
    void aProgramExitsZeroPromptly(String variant) throws Exception {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("content", "a b c d e f", "inter_token_ms", 50)))));
        String config = Json.write(Json.tree(s.openaiConfig(), ""));
        for (int i = 0; i < RUNS; i++) {
            Run r = run(variant, config);
            assertEquals(0, r.code(), r.stderr());
            assertTrue(r.ms() < LIMIT_MS, "exited after " + r.ms() + " ms");
            assertFalse(r.stderr().contains("Exception"), r.stderr());
        }
    }

    @Test
    void usageRecordedBeforeExitReachesTheServer(@TempDir Path dir) throws Exception {
        try (Management management = Management.start(dir)) {
            Mock.Session s = MOCK.session(Map.of());
            management.activate(s.openaiConfig());
            long before = management.callsReported();
            Run r = run("server", management.url, management.appKey, "25");
            assertEquals(0, r.code(), r.stderr());
            assertEquals(before + 25, management.callsReported(), "every call's usage arrived");
            assertEquals(25, s.total());
        }
    }
}
