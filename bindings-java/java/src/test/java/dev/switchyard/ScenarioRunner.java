//! Runs the shared conformance scenarios (tests/conformance/) through the Java client, implementing every field of tests/conformance/README.md as the Node and Python runners do.
package dev.switchyard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.switchyard.errors.*;
import dev.switchyard.internal.Json;
import dev.switchyard.internal.Native;
import dev.switchyard.models.*;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One scenario file against a fresh mock session. Chat and embeddings calls go through the
 * sync client, concurrent copies each on a thread of its own, or, with {@code async},
 * through {@code client.async()}, all started from one thread; streams are read on threads.
 * Every call of a scenario is on its one client.
 */
final class ScenarioRunner {
    static final class Mismatch extends AssertionError {
        private static final long serialVersionUID = 1L;

        Mismatch(String message) {
            super(message);
        }
    }

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Switchyard client;
    private final String base;
    private final boolean async;

    private ScenarioRunner(Switchyard client, String base, boolean async) {
        this.client = client;
        this.base = base;
        this.async = async;
    }

    static String localModelPath() {
        String given = System.getenv("SWITCHYARD_LOCAL_MODEL");
        return given != null && !given.isEmpty() ? given
                : Mock.ROOT.resolve("models").resolve("SmolLM2-135M-Instruct.Q4_1.gguf").toString();
    }

    static JsonNode substitute(JsonNode value, String base) {
        if (value == null) {
            return NODES.nullNode();
        }
        if (value.isTextual()) {
            return NODES.textNode(value.asText().replace("{{mock}}", base).replace("{{local_model}}", localModelPath()));
        }
        if (value.isArray()) {
            ArrayNode out = NODES.arrayNode();
            value.forEach(v -> out.add(substitute(v, base)));
            return out;
        }
        if (value.isObject()) {
            ObjectNode out = NODES.objectNode();
            value.fields().forEachRemaining(e -> out.set(e.getKey(), substitute(e.getValue(), base)));
            return out;
        }
        return value;
    }

    static Map<String, Object> map(JsonNode node) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (node != null && node.isObject()) {
            node.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
        }
        return out;
    }

    /** Runs one scenario file's text against a fresh mock session. */
    static void run(Mock mock, String text, boolean async) {
        JsonNode scenario = Json.parse(Native.parseYaml(text));
        try {
            Mock.Session session = mock.session(map(scenario.path("mock")));
            Switchyard client = Switchyard.builder().config(map(substitute(scenario.get("config"), session.url))).build();
            try {
                ScenarioRunner runner = new ScenarioRunner(client, session.url, async);
                int i = 0;
                for (JsonNode step : scenario.path("steps")) {
                    try {
                        runner.step(step);
                    } catch (Mismatch e) {
                        throw new Mismatch("step " + i + " (" + step.path("op").asText() + "): " + e.getMessage());
                    }
                    i++;
                }
            } finally {
                client.close();
            }
            if (scenario.has("expect")) {
                checkFinal(scenario.get("expect"), session.counters(), session.requests(), session.usage());
            }
        } catch (Mismatch e) {
            throw new Mismatch(e.getMessage() + "\n  scenario: " + scenario.path("description").asText());
        }
    }

    /** What one call did. */
    static final class Result {
        SwitchyardException error;
        String text = "";
        String finishReason;
        List<String[]> toolCalls = new ArrayList<>();
        JsonNode usage;
        JsonNode meta;
        int chunks;
        boolean restarted;
        int[] embeddings;
        List<String> models;
        double elapsedMs;
        String user;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    void step(JsonNode step) {
        if (step.has("delay_ms")) {
            sleep(step.get("delay_ms").asLong());
        }
        String op = step.path("op").asText();
        switch (op) {
            case "sleep" -> sleep(step.path("ms").asLong(0));
            case "parallel" -> {
                List<JsonNode> steps = new ArrayList<>();
                step.path("steps").forEach(steps::add);
                all(steps.size(), i -> {
                    step(steps.get(i));
                    return null;
                });
            }
            case "flush" -> client.flush();
            case "reload" -> {
                Result r = new Result();
                try {
                    client.reload(map(substitute(step.get("config"), base)));
                } catch (SwitchyardException e) {
                    r.error = e;
                }
                checkCall(step.get("expect"), r);
            }
            case "chat", "stream", "embed", "models" -> {
                List<Result> results = new ArrayList<>();
                int n = step.path("concurrent").asInt(1);
                int repeat = step.path("repeat").asInt(1);
                boolean futures = async && (op.equals("chat") || op.equals("embed"));
                for (int round = 0; round < repeat; round++) {
                    int r = round;
                    results.addAll(futures ? started(step, r, n) : all(n, c -> call(step, r * n + c, c)));
                }
                checkBatch(step, results);
            }
            default -> throw new Mismatch("unknown op " + op);
        }
    }

    interface Call<T> {
        T run(int index);
    }

    /** Runs {@code n} copies at once, each on its own thread; their results in order. */
    static <T> List<T> all(int n, Call<T> call) {
        if (n == 1) {
            return List.of(call.run(0));
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                futures.add(pool.submit(() -> call.run(index)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(get(f));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The round's {@code n} calls all started from this thread through the async client
     *  (as an event loop would), then waited for. */
    List<Result> started(JsonNode step, int round, int n) {
        List<CompletableFuture<Result>> calls = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            long begun = System.nanoTime();
            CallOptions options = options(step, round * n + c, c);
            Map<String, Object> request = map(step.get("request"));
            CompletableFuture<Result> call = step.path("op").asText().equals("chat")
                    ? client.async().chat().completions().create(ChatCompletionCreateParams.fromMap(request), options)
                            .thenApply(ScenarioRunner::chatResult)
                    : client.async().embeddings().create(EmbeddingCreateParams.fromMap(request), options)
                            .thenApply(ScenarioRunner::embedResult);
            calls.add(call.handle((r, error) -> {
                Result out = r;
                if (error != null) {
                    Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
                    if (!(cause instanceof SwitchyardException e)) {
                        throw new IllegalStateException(cause);
                    }
                    out = new Result();
                    out.error = e;
                }
                out.elapsedMs = (System.nanoTime() - begun) / 1e6;
                out.user = user(options);
                return out;
            }));
        }
        List<Result> out = new ArrayList<>();
        for (CompletableFuture<Result> call : calls) {
            out.add(get(call));
        }
        return out;
    }

    static String user(CallOptions options) {
        JsonNode user = options.toJson("").get("user");
        return user == null || user.isNull() ? null : user.asText();
    }

    /** The step's request as params, its options as the call options (README names). */
    static CallOptions options(JsonNode step, int i, int c) {
        Map<String, Object> options = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = step.path("options").fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> e = fields.next();
            String name = e.getKey();
            JsonNode value = e.getValue();
            switch (name) {
                case "timeout_ms" -> options.put("timeout", value.asDouble() / 1000.0);
                case "user", "session", "tenant", "app", "tags", "metadata", "cache", "deployment" -> options.put(name, value);
                case "user_template" -> options.put("user",
                        value.asText().replace("{i}", String.valueOf(i)).replace("{c}", String.valueOf(c)));
                case "abandon_after_chunks" -> {}
                default -> throw new Mismatch("unknown call option " + name + " in the scenario");
            }
        }
        return CallOptions.fromMap(options);
    }

    Result call(JsonNode step, int i, int c) {
        long started = System.nanoTime();
        CallOptions options = step.path("op").asText().equals("models") ? CallOptions.none() : options(step, i, c);
        Result r;
        try {
            r = callOnce(step, options);
        } catch (SwitchyardException e) {
            r = new Result();
            r.error = e;
        }
        r.elapsedMs = (System.nanoTime() - started) / 1e6;
        r.user = user(options);
        return r;
    }

    /** The future's value; its failure rethrown as it was thrown. */
    static <T> T get(Future<T> future) {
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Result callOnce(JsonNode step, CallOptions options) {
        String op = step.path("op").asText();
        Map<String, Object> request = map(step.get("request"));
        if (op.equals("models")) {
            Result r = new Result();
            r.models = client.models().list().data().stream().map(ModelList.Model::id).toList();
            return r;
        }
        if (op.equals("chat")) {
            ChatCompletionCreateParams params = ChatCompletionCreateParams.fromMap(request);
            return chatResult(async ? get(client.async().chat().completions().create(params, options))
                    : client.chat().completions().create(params, options));
        }
        if (op.equals("embed")) {
            EmbeddingCreateParams params = EmbeddingCreateParams.fromMap(request);
            return embedResult(async ? get(client.async().embeddings().create(params, options))
                    : client.embeddings().create(params, options));
        }
        JsonNode abandon = step.path("options").get("abandon_after_chunks");
        Result r = new Result();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.fromMap(request);
        StreamResponse<ChatCompletionChunk> stream = async
                ? get(client.async().chat().completions().createStreaming(params, options))
                : client.chat().completions().createStreaming(params, options);
        Assembler assembler = new Assembler();
        try {
            for (ChatCompletionChunk chunk : stream) {
                if (chunk.isRestart()) {
                    r.restarted = true;
                    assembler = new Assembler();
                    continue;
                }
                r.chunks++;
                assembler.push(chunk.json());
                if (abandon != null && r.chunks == abandon.asInt()) {
                    break;
                }
            }
        } catch (SwitchyardException e) {
            r.error = e;
        }
        stream.close();
        r.meta = stream.switchyard().json();
        assembler.into(r);
        return r;
    }

    static Result chatResult(ChatCompletion response) {
        Result r = new Result();
        List<Choice> choices = response.choices();
        if (!choices.isEmpty()) {
            ChatCompletionMessage message = choices.get(0).message();
            r.text = message.content().orElse("");
            r.finishReason = choices.get(0).finishReason().orElse(null);
            for (ToolCall t : message.toolCalls()) {
                r.toolCalls.add(new String[] {t.id().orElse(""), t.name().orElse(""), t.arguments().orElse("")});
            }
        }
        r.usage = response.json().get("usage");
        r.meta = response.switchyard().json();
        return r;
    }

    static Result embedResult(CreateEmbeddingResponse response) {
        Result r = new Result();
        List<CreateEmbeddingResponse.Embedding> data = response.data();
        r.embeddings = new int[] {data.size(), data.isEmpty() ? 0 : data.get(0).embedding().length};
        ObjectNode usage = NODES.objectNode();
        usage.put("prompt_tokens", response.usage().promptTokens());
        usage.put("completion_tokens", 0);
        r.usage = usage;
        r.meta = response.switchyard().json();
        return r;
    }

    /** Concatenates streamed chunks into the answer of choice 0. */
    static final class Assembler {
        final StringBuilder text = new StringBuilder();
        String finishReason;
        final TreeMap<Integer, String[]> tools = new TreeMap<>();
        JsonNode usage;

        void push(JsonNode chunk) {
            if (chunk.hasNonNull("usage")) {
                usage = chunk.get("usage");
            }
            for (JsonNode choice : chunk.path("choices")) {
                if (choice.path("index").asInt() != 0) {
                    continue;
                }
                JsonNode delta = choice.path("delta");
                if (delta.hasNonNull("content")) {
                    text.append(delta.get("content").asText());
                }
                for (JsonNode call : delta.path("tool_calls")) {
                    String[] slot = tools.computeIfAbsent(call.path("index").asInt(), k -> new String[] {"", "", ""});
                    if (call.hasNonNull("id") && !call.get("id").asText().isEmpty()) {
                        slot[0] = call.get("id").asText();
                    }
                    JsonNode f = call.path("function");
                    if (f.hasNonNull("name")) {
                        slot[1] += f.get("name").asText();
                    }
                    if (f.hasNonNull("arguments")) {
                        slot[2] += f.get("arguments").asText();
                    }
                }
                if (choice.hasNonNull("finish_reason") && !choice.get("finish_reason").asText().isEmpty()) {
                    finishReason = choice.get("finish_reason").asText();
                }
            }
        }

        void into(Result r) {
            r.text = text.toString();
            r.finishReason = finishReason;
            r.toolCalls = new ArrayList<>(tools.values());
            r.usage = usage;
        }
    }

    /** JSON equality with numbers compared by value (1 and 1.0 are equal). */
    static boolean sameJson(JsonNode a, JsonNode b) {
        if (a == null || b == null) {
            return (a == null || a.isNull() || a.isMissingNode()) && (b == null || b.isNull() || b.isMissingNode());
        }
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        if (a.isObject() && b.isObject()) {
            if (a.size() != b.size()) {
                return false;
            }
            Iterator<String> names = a.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                if (!b.has(name) || !sameJson(a.get(name), b.get(name))) {
                    return false;
                }
            }
            return true;
        }
        if (a.isArray() && b.isArray()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!sameJson(a.get(i), b.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    static JsonNode node(Object value) {
        return Json.tree(value, "");
    }

    static void same(String what, Object expected, Object actual) {
        JsonNode e = expected instanceof JsonNode n ? n : node(expected);
        JsonNode a = actual instanceof JsonNode n ? n : node(actual);
        if (!sameJson(e, a)) {
            throw new Mismatch(what + ": expected " + e + ", got " + a);
        }
    }

    /** The class an error of a kind must be, refined by the provider's status. */
    static Class<?> expectedClass(SwitchyardException e) {
        String byStatus = e.kind() + "/" + e.httpStatus().map(String::valueOf).orElse("");
        return switch (byStatus) {
            case "auth/403" -> PermissionDeniedException.class;
            case "bad_request/422", "upstream/422" -> UnprocessableEntityException.class;
            case "upstream/404" -> NotFoundException.class;
            case "upstream/409" -> ConflictException.class;
            default -> switch (e.kind()) {
                case "rate_limited" -> RateLimitException.class;
                case "context_window_exceeded" -> ContextWindowExceededException.class;
                case "content_policy" -> ContentPolicyException.class;
                case "timeout" -> RequestTimeoutException.class;
                case "upstream" -> UpstreamException.class;
                case "auth" -> AuthenticationException.class;
                case "bad_request" -> BadRequestException.class;
                case "network" -> NetworkException.class;
                case "canceled" -> CanceledException.class;
                case "budget_exceeded" -> BudgetExceededException.class;
                case "unavailable" -> UnavailableException.class;
                case "budget_unavailable" -> BudgetUnavailableException.class;
                case "overloaded" -> OverloadedException.class;
                case "config" -> ConfigException.class;
                case "internal" -> InternalException.class;
                case "policy_violation" -> PolicyViolationException.class;
                default -> SwitchyardException.class;
            };
        };
    }

    static JsonNode opt(Optional<?> value) {
        return node(value.orElse(null));
    }

    static void checkCall(JsonNode expect, Result r) {
        if (expect == null || expect.isNull()) {
            expect = NODES.objectNode();
        }
        JsonNode e = expect.get("error");
        boolean wantError = e != null && !e.isNull();
        if (!wantError && r.error != null) {
            throw new Mismatch("unexpected error: " + r.error.getMessage() + " (" + r.error.getClass().getSimpleName() + ")");
        }
        if (wantError && r.error == null) {
            throw new Mismatch("expected a " + e.path("kind").asText() + " error, the call succeeded");
        }
        if (wantError) {
            SwitchyardException err = r.error;
            same("error kind (" + err.getMessage() + ")", e.get("kind"), err.kind());
            Class<?> cls = expectedClass(err);
            if (!cls.isInstance(err)) {
                throw new Mismatch("error " + err.getClass().getSimpleName() + " is not a " + cls.getSimpleName());
            }
            if (e.has("field")) {
                same("error field", e.get("field"), opt(err.field()));
            }
            if (e.has("rule")) {
                same("error rule", e.get("rule"), opt(err.rule()));
            }
            if (e.has("status")) {
                same("error status", e.get("status"), opt(err.status()));
            }
            if (e.has("retryable")) {
                same("error retryable", e.get("retryable"), err.retryable());
            }
            if (e.has("deployment")) {
                same("error deployment", e.get("deployment"), opt(err.deployment()));
            }
            if (e.has("message_contains") && !err.detail().contains(e.get("message_contains").asText())) {
                throw new Mismatch("error message " + err.detail() + " lacks " + e.get("message_contains").asText());
            }
            if (e.has("after_chunks_min") && r.chunks < e.get("after_chunks_min").asInt()) {
                throw new Mismatch("error came after " + r.chunks + " chunks, expected at least " + e.get("after_chunks_min"));
            }
        }
        if (expect.has("content")) {
            same("content", expect.get("content"), r.text);
        }
        if (expect.has("content_contains") && !r.text.contains(expect.get("content_contains").asText())) {
            throw new Mismatch("content " + r.text + " lacks " + expect.get("content_contains").asText());
        }
        if (expect.has("finish_reason")) {
            same("finish_reason", expect.get("finish_reason"), r.finishReason);
        }
        if (expect.has("tool_calls")) {
            JsonNode want = expect.get("tool_calls");
            same("tool call count", want.size(), r.toolCalls.size());
            for (int i = 0; i < want.size(); i++) {
                String[] got = r.toolCalls.get(i);
                same("tool name", want.get(i).get("name"), got[1]);
                if (got[0].isEmpty()) {
                    throw new Mismatch("a tool call has no id");
                }
                if (want.get(i).has("arguments")) {
                    JsonNode parsed;
                    try {
                        parsed = Json.MAPPER.readTree(got[2]);
                    } catch (Exception ex) {
                        throw new Mismatch("tool arguments are not JSON (" + ex.getMessage() + "): " + got[2]);
                    }
                    same("tool arguments", want.get(i).get("arguments"), parsed);
                }
            }
        }
        if (expect.has("usage")) {
            JsonNode usage = r.usage == null ? NODES.objectNode() : r.usage;
            Map<String, Long> actual = Map.of(
                    "prompt_tokens", usage.path("prompt_tokens").asLong(0),
                    "completion_tokens", usage.path("completion_tokens").asLong(0),
                    "total_tokens", usage.path("total_tokens").asLong(0),
                    "cached_tokens", usage.path("prompt_tokens_details").path("cached_tokens").asLong(0));
            expect.get("usage").fields().forEachRemaining(f -> same(f.getKey(), f.getValue(), actual.get(f.getKey())));
        }
        if (r.embeddings != null) {
            if (expect.has("embeddings")) {
                same("embedding count", expect.get("embeddings").get("count"), r.embeddings[0]);
                if (expect.get("embeddings").has("dimensions")) {
                    same("embedding dimensions", expect.get("embeddings").get("dimensions"), r.embeddings[1]);
                }
            }
        } else if (expect.has("embeddings")) {
            throw new Mismatch("expected embeddings, got none");
        }
        if (expect.has("models")) {
            same("models", expect.get("models"), r.models);
        }
        if (expect.has("chunks_min") && r.chunks < expect.get("chunks_min").asInt()) {
            throw new Mismatch(r.chunks + " chunks, expected at least " + expect.get("chunks_min"));
        }
        if (expect.has("restarted")) {
            same("restarted", expect.get("restarted"), r.restarted);
        }
        long elapsed = (long) r.elapsedMs;
        if (expect.has("elapsed_ms_min") && elapsed < expect.get("elapsed_ms_min").asLong()) {
            throw new Mismatch("took " + elapsed + " ms, expected at least " + expect.get("elapsed_ms_min"));
        }
        if (expect.has("elapsed_ms_max") && elapsed > expect.get("elapsed_ms_max").asLong()) {
            throw new Mismatch("took " + elapsed + " ms, expected at most " + expect.get("elapsed_ms_max"));
        }
        List<String> metaKeys = List.of("deployment", "model", "attempts", "cache_hit", "fallback", "fallback_taken", "cost_usd");
        boolean any = false;
        for (String k : metaKeys) {
            any |= expect.has(k);
        }
        if (!any) {
            return;
        }
        if (r.meta == null) {
            throw new Mismatch("no call metadata");
        }
        for (String key : List.of("deployment", "model", "attempts", "cache_hit", "fallback")) {
            if (expect.has(key)) {
                same(key, expect.get(key), r.meta.get(key));
            }
        }
        if (expect.has("fallback_taken")) {
            same("fallback taken", expect.get("fallback_taken"), r.meta.hasNonNull("fallback"));
        }
        if (expect.has("cost_usd")) {
            double cost = expect.get("cost_usd").asDouble();
            double got = r.meta.path("cost_usd").asDouble();
            if (Math.abs(cost - got) > 1e-9 + Math.abs(cost) * 1e-6) {
                throw new Mismatch("cost_usd: expected " + cost + ", got " + got);
            }
        }
    }

    static void checkBatch(JsonNode step, List<Result> results) {
        JsonNode outcomes = step.get("outcomes");
        if (outcomes == null || outcomes.isNull()) {
            for (int i = 0; i < results.size(); i++) {
                try {
                    checkCall(step.get("expect"), results.get(i));
                } catch (Mismatch e) {
                    throw new Mismatch("call " + i + ": " + e.getMessage());
                }
            }
        } else {
            TreeMap<String, Long> actual = new TreeMap<>();
            for (Result r : results) {
                actual.merge(r.error != null ? r.error.kind() : "ok", 1L, Long::sum);
            }
            same("outcomes", outcomes, actual);
            for (Result r : results) {
                if (r.error == null) {
                    checkCall(step.get("expect"), r);
                }
            }
        }
        if (step.has("deployment_counts")) {
            Map<String, Long> counts = new TreeMap<>();
            for (Result r : results) {
                if (r.error == null && r.meta != null) {
                    counts.merge(r.meta.path("deployment").asText(), 1L, Long::sum);
                }
            }
            step.get("deployment_counts").fields().forEachRemaining(f -> {
                long got = counts.getOrDefault(f.getKey(), 0L);
                long low = f.getValue().get(0).asLong();
                long high = f.getValue().get(1).asLong();
                if (got < low || got > high) {
                    throw new Mismatch("deployment " + f.getKey() + " answered " + got + " calls, expected "
                            + low + "..=" + high + " (" + counts + ")");
                }
            });
        }
        if (step.path("sticky_by_user").asBoolean(false)) {
            Map<String, String> seen = new LinkedHashMap<>();
            for (Result r : results) {
                if (r.error != null || r.meta == null) {
                    continue;
                }
                String deployment = r.meta.path("deployment").asText();
                String first = seen.putIfAbsent(r.user, deployment);
                if (first != null && !first.equals(deployment)) {
                    throw new Mismatch("user " + r.user + " was answered by " + first + " and " + deployment);
                }
            }
        }
        if (step.has("total_cost_max_usd")) {
            double total = 0;
            for (Result r : results) {
                if (r.meta != null && r.error == null) {
                    total += r.meta.path("cost_usd").asDouble();
                }
            }
            if (total > step.get("total_cost_max_usd").asDouble() + 1e-12) {
                throw new Mismatch("successful calls cost " + total + " USD in all, more than " + step.get("total_cost_max_usd"));
            }
        }
    }

    static void contains(JsonNode expected, JsonNode actual, String at) {
        if (expected != null && actual != null && expected.isObject() && actual.isObject()) {
            expected.fields().forEachRemaining(f -> {
                if (!actual.has(f.getKey())) {
                    throw new Mismatch(at + "." + f.getKey() + " is missing in " + actual);
                }
                contains(f.getValue(), actual.get(f.getKey()), at + "." + f.getKey());
            });
            return;
        }
        if (expected != null && actual != null && expected.isArray() && actual.isArray() && expected.size() == actual.size()) {
            for (int i = 0; i < expected.size(); i++) {
                contains(expected.get(i), actual.get(i), at + "[" + i + "]");
            }
            return;
        }
        if (!sameJson(expected, actual)) {
            throw new Mismatch(at + ": expected " + expected + ", got " + actual);
        }
    }

    /** Item {@code index} of {@code items} (-1 the last). */
    static JsonNode pick(JsonNode items, int index, String what) {
        int position = index < 0 ? items.size() + index : index;
        if (position < 0 || position >= items.size()) {
            throw new Mismatch("no " + what + " " + index + " (of " + items.size() + ")");
        }
        return items.get(position);
    }

    static void checkUsageEvent(JsonNode check, JsonNode events) {
        int index = check.path("index").asInt(0);
        JsonNode event = pick(events, index, "usage event");
        String at = "usage event " + index;
        for (String field : List.of("model", "cache_hit", "local")) {
            if (check.has(field)) {
                same(at + " " + field, check.get(field), event.get(field));
            }
        }
        if (check.has("status")) {
            JsonNode status = event.path("status");
            JsonNode actual = status.isTextual() ? status : status.path("error").path("code");
            same(at + " status", check.get("status"), actual);
        }
        JsonNode content = event.get("content");
        boolean present = content != null && !content.isNull();
        if (check.path("content_absent").asBoolean(false) && present) {
            throw new Mismatch(at + " should carry no content: " + event);
        }
        if ((check.has("content") || check.has("content_max_bytes")) && !present) {
            throw new Mismatch(at + " carries no content: " + event);
        }
        if (check.has("content")) {
            contains(check.get("content"), content, at + " content");
        }
        if (check.has("content_max_bytes")) {
            int size = Json.write(content).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (size > check.get("content_max_bytes").asInt()) {
                throw new Mismatch(at + " content is " + size + " bytes, above " + check.get("content_max_bytes"));
            }
        }
    }

    static void checkFinal(JsonNode expect, JsonNode counters, JsonNode requests, JsonNode usage) {
        if (expect.has("upstream_calls")) {
            same("upstream calls", expect.get("upstream_calls"), counters.path("total").asLong(0));
        }
        expect.path("upstream_calls_by_model").fields().forEachRemaining(f -> same(
                "upstream calls to " + f.getKey(), f.getValue(), counters.path("models").path(f.getKey()).asLong(0)));
        ArrayNode events = JsonNodeFactory.instance.arrayNode();
        for (JsonNode batch : usage) {
            events.addAll((ArrayNode) batch.path("events"));
        }
        for (JsonNode check : expect.path("usage_events")) {
            checkUsageEvent(check, events);
        }
        for (JsonNode text : expect.path("usage_text_absent")) {
            for (JsonNode batch : usage) {
                if (batch.path("raw").asText().contains(text.asText())) {
                    throw new Mismatch("\"" + text.asText() + "\" was shipped: " + batch.path("raw").asText());
                }
            }
        }
        for (JsonNode check : expect.path("requests")) {
            JsonNode recorded = pick(requests, check.path("index").asInt(0), "recorded request");
            if (check.has("path")) {
                same("request path", check.get("path"), recorded.get("path"));
            }
            check.path("headers").fields().forEachRemaining(f -> same(
                    "request header " + f.getKey(), f.getValue(), recorded.path("headers").get(f.getKey())));
            for (JsonNode name : check.path("headers_absent")) {
                if (recorded.path("headers").has(name.asText())) {
                    throw new Mismatch("request header " + name.asText() + " should be absent");
                }
            }
            if (check.has("body")) {
                contains(check.get("body"), recorded.get("body"), "body");
            }
            for (JsonNode name : check.path("body_absent")) {
                JsonNode body = recorded.get("body");
                if (body != null && body.isObject() && body.has(name.asText())) {
                    throw new Mismatch("request body field " + name.asText() + " should be absent");
                }
            }
        }
    }
}
