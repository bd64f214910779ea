//! Bad input from Java (nulls, empty lists, wrong types in maps, cycles, non-finite numbers, bad options, null handles) is a BadRequestException naming the field, never a JVM crash, and sends nothing.
package dev.switchyard;

import static org.junit.jupiter.api.Assertions.*;

import dev.switchyard.errors.*;
import dev.switchyard.internal.Errors;
import dev.switchyard.internal.Native;
import dev.switchyard.internal.NativeException;
import dev.switchyard.models.*;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class BadInputTest {
    static final Mock MOCK = Mock.shared();

    static ChatCompletionCreateParams params(Consumer<ChatCompletionCreateParams.Builder> more) {
        ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder().model("chat").addUserMessage("hi");
        more.accept(b);
        return b.build();
    }

    static void refused(Switchyard client, String field, ChatCompletionCreateParams params, CallOptions options) {
        BadRequestException e = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(params, options), field);
        assertEquals(field, e.field().orElse(null), e.getMessage());
        assertEquals("bad_request", e.kind());
        ExecutionException async = assertThrows(ExecutionException.class,
                () -> client.async().chat().completions().create(params, options).get(5, TimeUnit.SECONDS));
        assertInstanceOf(BadRequestException.class, async.getCause());
        assertEquals(field, ((BadRequestException) async.getCause()).field().orElse(null));
    }

    @Test
    void badRequestsNameTheirField() {
        Mock.Session s = MOCK.session(Map.of());
        Map<String, Object> cyclic = new HashMap<>();
        cyclic.put("self", cyclic);
        Map<Object, Object> intKeys = new HashMap<>();
        intKeys.put(1, "one");
        List<Object> deep = new ArrayList<>();
        List<Object> at = deep;
        for (int i = 0; i < 200; i++) {
            List<Object> inner = new ArrayList<>();
            at.add(inner);
            at = inner;
        }
        Map<String, Object> nullContent = new LinkedHashMap<>();
        nullContent.put("role", "user");
        nullContent.put("content", null);
        try (Switchyard client = s.client()) {
            refused(client, "model", ChatCompletionCreateParams.builder().model(null).addUserMessage("hi").build(), null);
            refused(client, "messages", ChatCompletionCreateParams.builder().model("chat").messages(List.of()).build(), null);
            refused(client, "messages", ChatCompletionCreateParams.builder().model("chat").messages(null).build(), null);
            refused(client, "messages", ChatCompletionCreateParams.builder().model("chat").build(), null);
            refused(client, "messages[0].content", ChatCompletionCreateParams.builder().model("chat").addMessage(nullContent).build(), null);
            refused(client, "temperature", params(b -> b.temperature(Double.NaN)), null);
            refused(client, "temperature", params(b -> b.putAdditionalBodyProperty("temperature", "hot")), null);
            refused(client, "metadata.k", params(b -> b.putAdditionalBodyProperty("metadata", Map.of("k", new Object()))), null);
            refused(client, "metadata", params(b -> b.putAdditionalBodyProperty("metadata", intKeys)), null);
            refused(client, "extra.self", params(b -> b.putAdditionalBodyProperty("extra", cyclic)), null);
            String deepField = badField(() -> client.chat().completions().create(
                    params(b -> b.putAdditionalBodyProperty("deep", deep)), null));
            assertTrue(deepField.startsWith("deep[0][0]"), deepField);
            refused(client, "tags", params(b -> {}), CallOptions.builder().put("tags", "not-a-list").build());
            refused(client, "metadata.a", params(b -> {}), CallOptions.builder().put("metadata", Map.of("a", 1)).build());
            refused(client, "tags[0]", params(b -> {}), CallOptions.builder().put("tags", List.of(new Object())).build());
            refused(client, "timeout", params(b -> {}), CallOptions.builder().put("timeout", Double.POSITIVE_INFINITY).build());
            refused(client, "cache", params(b -> {}), CallOptions.builder().put("cache", "sometimes").build());
            refused(client, "max_retries", params(b -> {}), CallOptions.builder().maxRetries(-1).build());
            BadRequestException none = assertThrows(BadRequestException.class, () -> client.chat().completions().create(null));
            assertEquals("params", none.field().orElseThrow());
            BadRequestException emptyInput = assertThrows(BadRequestException.class, () -> client.embeddings()
                    .create(EmbeddingCreateParams.builder().model("embed").input(List.of()).build()));
            assertEquals("input", emptyInput.field().orElseThrow());
            BadRequestException stream = assertThrows(BadRequestException.class, () -> client.chat().completions()
                    .createStreaming(ChatCompletionCreateParams.builder().model(null).addUserMessage("x").build()));
            assertEquals("model", stream.field().orElseThrow());
        }
        assertEquals(0, s.total(), "nothing was sent");
    }

    static String badField(org.junit.jupiter.api.function.Executable call) {
        BadRequestException e = assertThrows(BadRequestException.class, call);
        assertTrue(e.detail().contains("nested deeper"), e.detail());
        return e.field().orElseThrow();
    }

    @Test
    void badConstructorArgumentsNameTheirField() {
        BadRequestException both = assertThrows(BadRequestException.class,
                () -> Switchyard.builder().config(Map.of("version", 1)).server("http://127.0.0.1:9", "k").build());
        assertEquals("server", both.field().orElseThrow());
        BadRequestException object = assertThrows(BadRequestException.class,
                () -> Switchyard.builder().config(Map.of("version", 1, "models", Map.of("m", new Object()))).build());
        assertEquals("config.models.m", object.field().orElseThrow());
        ConfigException invalid = assertThrows(ConfigException.class,
                () -> Switchyard.builder().config(Map.of("version", 2)).build());
        assertEquals("version", invalid.field().orElseThrow());
        assertThrows(ConfigException.class, () -> Switchyard.builder().configFile("/nonexistent/switchyard.yaml").build());
    }

    /** The native entry points themselves, given what the public API never passes. */
    @Test
    void theNativeLayerRefusesNullsWithoutCrashing() {
        Mock.Session s = MOCK.session(Map.of());
        try (Switchyard client = s.client()) {
            NativeException e = assertThrows(NativeException.class, () -> Native.call(0, Native.CHAT, "{}", null));
            assertInstanceOf(InternalException.class, Errors.from(e));
            assertInstanceOf(BadRequestException.class, Errors.from(assertThrows(NativeException.class, () -> Native.parseYaml(null))));
            assertInstanceOf(BadRequestException.class, Errors.from(assertThrows(NativeException.class, () -> Native.open("not json"))));
            assertInstanceOf(BadRequestException.class, Errors.from(assertThrows(NativeException.class, () -> Native.checkOptions("{\"retries\": 1}"))));
            Native.freeCall(0);
            Native.freeStream(0);
            Native.freeClient(0);
            assertEquals(0, s.total());
        }
    }
}
