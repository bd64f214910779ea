//! The client against the mock: answers and metadata, streams, embeddings, models, options, errors by class, cancel and interrupt.
package dev.switchyard;

import static org.junit.jupiter.api.Assertions.*;

import dev.switchyard.errors.*;
import dev.switchyard.models.*;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ClientTest {
    static final Mock MOCK = Mock.shared();

    static ChatCompletionCreateParams hi() {
        return ChatCompletionCreateParams.builder().model("chat").addUserMessage("hi").build();
    }

    @Test
    void aChatAnswerWithItsCallInfo() {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("content", "hello there")))));
        try (Switchyard client = s.client()) {
            ChatCompletion r = client.chat().completions().create(hi());
            assertEquals("hello there", r.choices().get(0).message().content().orElseThrow());
            assertEquals("stop", r.choices().get(0).finishReason().orElseThrow());
            assertTrue(r.usage().orElseThrow().totalTokens() > 0);
            assertEquals("chat", r.switchyard().model());
            assertEquals("oa/gpt-4o-mini", r.switchyard().deployment());
            assertEquals(1, r.switchyard().attempts());
            assertFalse(r.switchyard().cacheHit());
            // Every key of the OpenAI model is there, null where the provider sent nothing.
            assertTrue(r.json().has("service_tier"));
            assertTrue(r.json().get("choices").get(0).get("message").has("refusal"));
        }
        assertEquals(1, s.total());
    }

    @Test
    void aStreamIsIterableAndAJavaStream() {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("content", "one two three", "times", 2)))));
        try (Switchyard client = s.client()) {
            String text;
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(hi())) {
                text = stream.stream()
                        .flatMap(c -> c.choices().stream())
                        .map(c -> c.delta().content().orElse(""))
                        .collect(Collectors.joining());
                assertEquals("oa/gpt-4o-mini", stream.switchyard().deployment());
            }
            assertEquals("one two three", text);
            StringBuilder again = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(hi())) {
                for (ChatCompletionChunk chunk : stream) {
                    chunk.choices().forEach(c -> again.append(c.delta().content().orElse("")));
                }
            }
            assertEquals("one two three", again.toString());
        }
    }

    @Test
    void embeddingsAndModels() {
        Mock.Session s = MOCK.session(Map.of());
        try (Switchyard client = s.client()) {
            CreateEmbeddingResponse r = client.embeddings().create(
                    EmbeddingCreateParams.builder().model("embed").input(List.of("a", "b")).build());
            assertEquals(2, r.data().size());
            assertEquals(8, r.data().get(0).embedding().length);
            assertEquals("embed", r.switchyard().model());
            List<String> ids = client.models().list().data().stream().map(ModelList.Model::id).sorted().toList();
            assertEquals(List.of("chat", "embed"), ids);
        }
    }

    @Test
    void errorsAreTypedWithTheirFields() {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(
                Map.of("status", 429, "retry_after", "2"), Map.of("status", 401), Map.of("status", 404)))));
        try (Switchyard client = s.client()) {
            CallOptions once = CallOptions.builder().maxRetries(0).build();
            RateLimitException limited = assertThrows(RateLimitException.class, () -> client.chat().completions().create(hi(), once));
            assertEquals("rate_limited", limited.kind());
            assertEquals(429, limited.statusCode());
            assertEquals(2.0, limited.retryAfter().orElseThrow());
            assertTrue(limited.retryable());
            assertEquals("oa/gpt-4o-mini", limited.deployment().orElseThrow());
            AuthenticationException auth = assertThrows(AuthenticationException.class, () -> client.chat().completions().create(hi(), once));
            assertEquals(401, auth.statusCode());
            assertThrows(NotFoundException.class, () -> client.chat().completions().create(hi(), once));
            BadRequestException unknown = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                    ChatCompletionCreateParams.builder().model("nope").addUserMessage("x").build()));
            assertEquals("model", unknown.field().orElseThrow());
        }
        assertThrows(ConfigException.class, () -> Switchyard.builder()
                .config(Map.of("version", 1, "models", Map.of("m", Map.of("deployments", List.of(Map.of("provider", "nope", "model", "x"))))))
                .build());
    }

    @Test
    void theTimeoutOptionEndsAHangingCall() {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("fault", "hang")))));
        try (Switchyard client = s.client()) {
            long started = System.nanoTime();
            RequestTimeoutException e = assertThrows(RequestTimeoutException.class, () -> client.chat().completions()
                    .create(hi(), CallOptions.builder().timeout(Duration.ofMillis(300)).build()));
            assertInstanceOf(ConnectionException.class, e);
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(3));
        }
    }

    @Test
    void cancelingTheFutureDropsTheUpstreamCall() throws Exception {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("fault", "hang")))));
        try (Switchyard client = s.client()) {
            CompletableFuture<ChatCompletion> pending = client.async().chat().completions().create(hi());
            Thread.sleep(300);
            assertEquals(1, s.total(), "the request reached the provider");
            assertTrue(pending.cancel(true));
            assertThrows(CancellationException.class, pending::join);
            // The engine's call is gone: close() has nothing in flight to wait 5 s for.
            long started = System.nanoTime();
            client.close();
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2), "close waited for a canceled call");
            assertEquals(1, s.total());
        }
        // orTimeout settles the future from outside: the engine call is dropped too.
        try (Switchyard client = s.client()) {
            CompletableFuture<ChatCompletion> pending = client.async().chat().completions().create(hi());
            ExecutionException e = assertThrows(ExecutionException.class, () -> pending.orTimeout(200, TimeUnit.MILLISECONDS).get());
            assertInstanceOf(java.util.concurrent.TimeoutException.class, e.getCause());
            long started = System.nanoTime();
            client.close();
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2), "close waited for a timed-out call");
            assertEquals(2, s.total());
        }
    }

    @Test
    void interruptingTheCallerCancelsTheCall() throws Exception {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("fault", "hang")))));
        try (Switchyard client = s.client()) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
            Thread caller = new Thread(() -> {
                try {
                    client.chat().completions().create(hi());
                } catch (Throwable t) {
                    failure.set(t);
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            });
            caller.start();
            Thread.sleep(300);
            caller.interrupt();
            caller.join(2000);
            assertFalse(caller.isAlive(), "the interrupted call returned");
            assertInstanceOf(CanceledException.class, failure.get());
            assertTrue(stillInterrupted.get(), "the interrupt status is kept");
            long started = System.nanoTime();
            client.close();
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2));
            assertEquals(1, s.total());
        }
    }

    @Test
    void closingAStreamMidwayStopsIt() {
        String words = java.util.stream.IntStream.range(0, 20).mapToObj(i -> "w" + i).collect(Collectors.joining(" "));
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("content", words, "inter_token_ms", 100)))));
        try (Switchyard client = s.client()) {
            StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(hi());
            int seen = 0;
            long started = System.nanoTime();
            for (ChatCompletionChunk chunk : stream) {
                assertNotNull(chunk);
                if (++seen == 2) {
                    stream.close();
                }
            }
            assertTrue(seen < 5, "stopped early (" + seen + " chunks)");
            assertTrue(stream.isClosed());
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(1));
            // Nothing left in flight: close is immediate.
            long closing = System.nanoTime();
            client.close();
            assertTrue(System.nanoTime() - closing < TimeUnit.SECONDS.toNanos(2));
        }
    }

    @Test
    void interruptingAStreamsReaderCancelsTheStream() throws Exception {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("fault", "stall", "cut_after", 2)))));
        try (Switchyard client = s.client()) {
            StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(hi());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicInteger read = new java.util.concurrent.atomic.AtomicInteger();
            Thread reader = new Thread(() -> {
                try {
                    for (ChatCompletionChunk chunk : stream) {
                        read.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            reader.start();
            Thread.sleep(300);
            assertTrue(reader.isAlive(), "the stalled stream is still being read");
            reader.interrupt();
            reader.join(2000);
            assertFalse(reader.isAlive(), "the interrupted read returned");
            assertInstanceOf(CanceledException.class, failure.get());
            assertTrue(stream.isClosed());
            assertTrue(read.get() >= 1, "the chunks before the stall were read");
            long started = System.nanoTime();
            client.close();
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2), "close waited for the stream");
        }
        assertEquals(1, s.total());
    }

    @Test
    void cancelingAStreamsOpeningDropsIt() throws Exception {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("fault", "hang")))));
        try (Switchyard client = s.client()) {
            CompletableFuture<StreamResponse<ChatCompletionChunk>> opening = client.async().chat().completions().createStreaming(hi());
            Thread.sleep(300);
            assertTrue(opening.cancel(true));
            long started = System.nanoTime();
            client.close();
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2), "close waited for a canceled stream");
        }
        assertEquals(1, s.total());
    }

    @Test
    void asyncCallsCompleteOffTheEngineThreads() throws Exception {
        Mock.Session s = MOCK.session(Map.of());
        try (Switchyard client = s.client()) {
            List<CompletableFuture<String>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                calls.add(client.async().chat().completions().create(hi())
                        .thenApply(r -> Thread.currentThread().getName() + "|" + r.choices().get(0).message().content().orElse("")));
            }
            for (CompletableFuture<String> call : calls) {
                String[] got = call.get(10, TimeUnit.SECONDS).split("\\|");
                assertFalse(got[0].startsWith("switchyard-worker"), got[0]);
                assertEquals("Hello from gpt-4o-mini", got[1]);
            }
            // Bad input fails the future, not the caller.
            CompletableFuture<ChatCompletion> bad = client.async().chat().completions()
                    .create(ChatCompletionCreateParams.builder().model("chat").build());
            ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(5, TimeUnit.SECONDS));
            assertInstanceOf(BadRequestException.class, e.getCause());
            try (StreamResponse<ChatCompletionChunk> stream = client.async().chat().completions().createStreaming(hi()).get(5, TimeUnit.SECONDS)) {
                assertTrue(stream.stream().count() > 0);
            }
        }
        assertEquals(51, s.total(), "50 calls and a stream; the bad request never left");
    }

    @Test
    void withOptionsSharesTheEngineAndChecksOptions() {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("status", 500), Map.of("status", 500), Map.of("content", "third time")))));
        Switchyard client = Switchyard.builder()
                .config(s.openaiConfig(Map.of("retry", Map.of("max_attempts", 3, "initial_backoff_ms", 1)))).build();
        Switchyard once = client.withOptions(CallOptions.builder().maxRetries(0).build());
        assertThrows(UpstreamServerException.class, () -> once.chat().completions().create(hi()));
        assertEquals(1, s.total());
        ChatCompletion r = client.chat().completions().create(hi());
        assertEquals("third time", r.choices().get(0).message().content().orElseThrow());
        assertEquals(2, r.switchyard().attempts());
        long calls = 0;
        for (var d : client.metrics().get("deployments")) {
            calls += d.get("calls").asLong();
        }
        assertEquals(2, calls);
        assertEquals(List.of("chat", "embed"), iterable(once.config().get("models").fieldNames()));
        BadRequestException bad = assertThrows(BadRequestException.class,
                () -> client.withOptions(CallOptions.builder().timeout(Duration.ofSeconds(-1)).build()));
        assertEquals("timeout", bad.field().orElseThrow());
        BadRequestException unknown = assertThrows(BadRequestException.class,
                () -> client.withOptions(CallOptions.builder().put("retries", 1).build()));
        assertEquals("retries", unknown.field().orElseThrow());
        once.close();
        assertTrue(client.isClosed(), "closing the copy closed the engine both share");
        assertThrows(UnavailableException.class, () -> client.chat().completions().create(hi()));
    }

    @Test
    void manyThreadsShareOneClient() throws Exception {
        Mock.Session s = MOCK.session(Map.of("models", Map.of("*", List.of(Map.of("echo", true, "times", 100000)))));
        int threads = 32;
        int calls = 25;
        try (Switchyard client = s.client()) {
            List<Thread> workers = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                int thread = t;
                workers.add(new Thread(() -> {
                    try {
                        for (int i = 0; i < calls; i++) {
                            String mine = "thread " + thread + " call " + i;
                            ChatCompletionCreateParams p = ChatCompletionCreateParams.builder().model("chat").addUserMessage(mine).build();
                            if (i % 5 == 4) {
                                try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(p)) {
                                    String text = stream.stream().flatMap(c -> c.choices().stream())
                                            .map(c -> c.delta().content().orElse("")).collect(Collectors.joining());
                                    assertTrue(text.contains(mine), text);
                                }
                            } else {
                                String text = client.chat().completions().create(p).choices().get(0).message().content().orElseThrow();
                                // Each answer is its own request's echo: no crossed wires between threads.
                                assertTrue(text.contains(mine), text);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            workers.forEach(Thread::start);
            for (Thread w : workers) {
                w.join(60_000);
            }
            assertEquals(List.of(), failures);
        }
        assertEquals(threads * calls, s.total());
    }

    static List<String> iterable(java.util.Iterator<String> names) {
        List<String> out = new ArrayList<>();
        names.forEachRemaining(out::add);
        out.sort(null);
        return out;
    }
}
