//! A real program using the SDK, run by ExitTest in a java process of its own: it makes its calls and ends without cleaning up.
package dev.switchyard;

import dev.switchyard.internal.Json;
import dev.switchyard.models.ChatCompletion;
import dev.switchyard.models.ChatCompletionChunk;
import dev.switchyard.models.ChatCompletionCreateParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** {@code ExitProgram VARIANT CONFIG_JSON} or {@code ExitProgram server URL KEY CALLS}. */
public final class ExitProgram {
    private ExitProgram() {}

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws Exception {
        String variant = args[0];
        ChatCompletionCreateParams hi = ChatCompletionCreateParams.builder().model("chat").addUserMessage("hi").build();
        if (variant.equals("server")) {
            // Usage is shipped at exit: no close(), no flush().
            Switchyard client = Switchyard.builder().server(args[1], args[2]).build();
            for (int i = 0; i < Integer.parseInt(args[3]); i++) {
                client.chat().completions().create(hi);
            }
            return;
        }
        Switchyard client = Switchyard.builder().config(Json.MAPPER.readValue(args[1], Map.class)).build();
        switch (variant) {
            case "one", "one-closed" -> {
                ChatCompletion r = client.chat().completions().create(hi);
                if (r.choices().get(0).message().content().isEmpty()) {
                    throw new IllegalStateException("empty");
                }
                if (variant.equals("one-closed")) {
                    client.close();
                }
            }
            case "many" -> {
                List<CompletableFuture<ChatCompletion>> calls = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    calls.add(client.async().chat().completions().create(hi));
                }
                CompletableFuture.allOf(calls.toArray(new CompletableFuture<?>[0])).join();
            }
            case "stream-left-open" -> {
                StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(hi);
                stream.iterator().next();
            }
            case "pending-async" -> client.async().chat().completions().create(hi);
            default -> throw new IllegalArgumentException(variant);
        }
    }
}
