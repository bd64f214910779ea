//! The engine's client handle held by Java: every native call through it, with errors mapped and the handle kept alive.
package dev.switchyard.internal;

import java.lang.ref.Reference;

/**
 * Owns one native {@code ClientHandle}; freed by the cleaner once unreachable (every method
 * keeps this object reachable until its native call returns). Engine errors leave here as
 * their {@code SwitchyardException} class.
 */
public final class NativeClient {
    private final long handle;

    public NativeClient(String spec) {
        try {
            handle = Native.open(spec);
        } catch (NativeException e) {
            throw Errors.from(e);
        }
        long h = handle;
        NativeCall.CLEANER.register(this, () -> Native.freeClient(h));
    }

    /** A native call through this handle: engine errors as their class, and this object
     *  (so the handle) kept reachable until the call returns. */
    private <T> T call(java.util.function.LongFunction<T> f) {
        try {
            return f.apply(handle);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public String chat(String request, String options) {
        return call(h -> Native.call(h, Native.CHAT, request, options));
    }

    public long chatStream(String request, String options) {
        return call(h -> Native.chatStream(h, request, options));
    }

    public String embed(String request, String options) {
        return call(h -> Native.call(h, Native.EMBED, request, options));
    }

    /** Starts a call ({@code kind}: chat, stream, embed) completing {@code call}. */
    public void start(String kind, String request, String options, NativeCall<?> call) {
        try {
            call.started(call(h -> switch (kind) {
                case "chat" -> Native.callAsync(h, Native.CHAT, request, options, call);
                case "stream" -> Native.chatStreamAsync(h, request, options, call);
                default -> Native.callAsync(h, Native.EMBED, request, options, call);
            }));
        } catch (RuntimeException e) {
            call.completeExceptionally(e);
        }
    }

    /** 0: models, 1: metrics, 2: config. */
    public String read(int what) {
        return call(h -> Native.read(h, what));
    }

    public void reload(String config) {
        call(h -> {
            Native.reload(h, config);
            return null;
        });
    }

    public void flush() {
        call(h -> {
            Native.flush(h);
            return null;
        });
    }

    public void close() {
        call(h -> {
            Native.close(h);
            return null;
        });
    }

    public boolean isClosed() {
        return call(Native::isClosed);
    }
}
