//! Server mode against the real management server binary: the config comes from the server and follows its activations, the cache file, a wrong key, the environment, flush.
package dev.switchyard;

import static org.junit.jupiter.api.Assertions.*;

import dev.switchyard.errors.*;
import dev.switchyard.models.*;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerTest {
    static final Mock MOCK = Mock.shared();
    static Management management;
    @TempDir
    static Path dir;

    static ChatCompletionCreateParams hi(String model) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage("hi").build();
    }

    @BeforeAll
    static void start() throws Exception {
        management = Management.start(dir);
    }

    @AfterAll
    static void stop() {
        management.close();
    }

    static List<String> ids(Switchyard client) {
        return client.models().list().data().stream().map(ModelList.Model::id).toList();
    }

    static void waitForModel(Switchyard client, String alias) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!ids(client).contains(alias)) {
            assertTrue(System.nanoTime() < deadline, alias + " never arrived");
            Thread.sleep(10);
        }
    }

    @Test
    void theConfigComesFromTheServerAndFollowsItsActivations() throws Exception {
        Mock.Session session = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("content", "from the server's config")))));
        management.activate(Management.configWith(session));
        Path cache = dir.resolve("config-cache.json");
        try (Switchyard client = Switchyard.builder().server(management.url, management.appKey).configCache(cache).build()) {
            ChatCompletion r = client.chat().completions().create(hi("chat"));
            assertEquals("from the server's config", r.choices().get(0).message().content().orElseThrow());
            management.activate(Management.configWith(session, "summarise"));
            waitForModel(client, "summarise");
            assertEquals("summarise", client.chat().completions().create(hi("summarise")).switchyard().model());
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(cache);
        assertTrue(mode.stream().noneMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")),
                "the cache file is owner-only: " + mode);
        // The server "moves": a client on a dead address starts from the cache file ...
        String dead = "http://127.0.0.1:" + Management.freePort();
        try (Switchyard cached = Switchyard.builder().server(dead, management.appKey).configCache(cache).build()) {
            assertTrue(ids(cached).contains("summarise"));
        }
        // ... and without one it cannot start, and says why.
        assertThrows(NetworkException.class, () -> Switchyard.builder().server(dead, management.appKey).build());
    }

    @Test
    void aWrongKeyIsAnAuthenticationException() {
        assertThrows(AuthenticationException.class,
                () -> Switchyard.builder().server(management.url, "sy_not_a_real_key").build());
        BadRequestException half = assertThrows(BadRequestException.class,
                () -> Switchyard.builder().server(management.url, null).build());
        assertEquals("api_key", half.field().orElseThrow());
        BadRequestException both = assertThrows(BadRequestException.class,
                () -> Switchyard.builder().configFile("x.yaml").server(management.url, management.appKey).build());
        assertEquals("server", both.field().orElseThrow());
    }

    @Test
    void flushReturnsOnceTheServerHasTheUsage() throws Exception {
        Mock.Session session = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("content", "counted")))));
        management.activate(Management.configWith(session, "billed"));
        Switchyard client = Switchyard.builder().server(management.url, management.appKey).build();
        try {
            waitForModel(client, "billed");
            long before = management.callsReported();
            for (int i = 0; i < 3; i++) {
                client.chat().completions().create(hi("billed"));
            }
            client.flush();
            assertEquals(before + 3, management.callsReported());
            client.flush();
        } finally {
            client.close();
        }
        assertThrows(UnavailableException.class, client::flush);
    }
}
