//! Bounded memory, measured: a stream of 100,000 chunks, and 10,000 async calls completed from engine threads (each callback's local references released).
package dev.switchyard;

import static org.junit.jupiter.api.Assertions.*;

import dev.switchyard.models.ChatCompletion;
import dev.switchyard.models.ChatCompletionChunk;
import dev.switchyard.models.ChatCompletionCreateParams;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;

class MemoryTest {
    static final Mock MOCK = Mock.shared();
    static final ChatCompletionCreateParams HI = ChatCompletionCreateParams.builder().model("chat").addUserMessage("hi").build();

    /**
     * The heap in use after a collection, and the process's resident set (native memory:
     * the engine, JNI handles). A leaked JNI local reference pins its object (each chunk's
     * or answer's JSON text), so it shows as heap that no collection frees. Surefire runs
     * with a fixed, pre-touched heap, so that RSS growth is native memory, not heap pages
     * touched for the first time.
     */
    record Footprint(long heap, long rss) {
        static Footprint now() throws IOException {
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            long rss = Files.readAllLines(Paths.get("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("VmRSS:")).map(l -> l.replaceAll("\\D", ""))
                    .mapToLong(Long::parseLong).findFirst().orElseThrow() * 1024;
            return new Footprint(heap, rss);
        }
    }

    static final long MB = 1024 * 1024;

    @Test
    void aStreamOf100000ChunksRunsInBoundedMemory() throws Exception {
        int total = 100_000;
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("chunks", Collections.nCopies(total, "x"))))));
        try (Switchyard client = s.client();
                StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(HI)) {
            int n = 0;
            long chars = 0;
            Footprint warm = null;
            long started = System.nanoTime();
            for (ChatCompletionChunk chunk : stream) {
                chars += chunk.choices().isEmpty() ? 0 : chunk.choices().get(0).delta().content().orElse("").length();
                if (++n == 10_000) {
                    warm = Footprint.now();
                }
            }
            Footprint end = Footprint.now();
            double seconds = (System.nanoTime() - started) / 1e9;
            assertEquals(total, chars, "every chunk's text arrived");
            assertNotNull(warm);
            long heapGrowth = end.heap() - warm.heap();
            long rssGrowth = end.rss() - warm.rss();
            System.out.printf("100,000-chunk stream: %d chunks in %.2f s; heap %+d KiB, RSS %+d KiB from chunk 10,000 to the end%n",
                    n, seconds, heapGrowth / 1024, rssGrowth / 1024);
            // 90,000 more chunks: a leaked reference per chunk would pin about 30 MB of text.
            assertTrue(heapGrowth < 4 * MB, "heap grew by " + heapGrowth / 1024 + " KiB");
            assertTrue(rssGrowth < 32 * MB, "RSS grew by " + rssGrowth / 1024 + " KiB");
        }
    }

    @Test
    void callbacksFromEngineThreadsLeakNothing() throws Exception {
        Mock.Session s = MOCK.session(Map.of());
        try (Switchyard client = s.client()) {
            run(client, 2_000);
            Footprint warm = Footprint.now();
            run(client, 10_000);
            Footprint end = Footprint.now();
            long rssGrowth = end.rss() - warm.rss();
            System.out.printf("10,000 async calls: heap %+d KiB, RSS %+d KiB%n",
                    (end.heap() - warm.heap()) / 1024, rssGrowth / 1024);
            // A leaked reference per callback would pin 10,000 answers (about 10 MB).
            assertTrue(end.heap() - warm.heap() < 4 * MB, "heap grew by " + (end.heap() - warm.heap()) / 1024 + " KiB");
            assertTrue(rssGrowth < 48 * MB, "RSS grew by " + rssGrowth / 1024 + " KiB");
        }
    }

    /** {@code n} async calls, at most 64 in flight. */
    static void run(Switchyard client, int n) throws InterruptedException {
        Semaphore slots = new Semaphore(64);
        List<CompletableFuture<ChatCompletion>> last = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            slots.acquire();
            CompletableFuture<ChatCompletion> call = client.async().chat().completions().create(HI);
            call.whenComplete((r, e) -> slots.release());
            if (i >= n - 64) {
                last.add(call);
            }
        }
        slots.acquire(64);
        slots.release(64);
        last.forEach(c -> assertFalse(c.join().choices().isEmpty()));
    }
}
