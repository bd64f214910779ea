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

    public String chat(String request, String options) {
        try {
            return Native.chat(handle, request, options);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public long chatStream(String request, String options) {
        try {
            return Native.chatStream(handle, request, options);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public String embed(String request, String options) {
        try {
            return Native.embed(handle, request, options);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Starts a call ({@code kind}: chat, stream, embed) completing {@code call}. */
    public void start(String kind, String request, String options, NativeCall<?> call) {
        try {
            long h = switch (kind) {
                case "chat" -> Native.chatAsync(handle, request, options, call);
                case "stream" -> Native.chatStreamAsync(handle, request, options, call);
                default -> Native.embedAsync(handle, request, options, call);
            };
            call.started(h);
        } catch (NativeException e) {
            call.completeExceptionally(Errors.from(e));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** 0: models, 1: metrics, 2: config. */
    public String read(int what) {
        try {
            return Native.read(handle, what);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public void reload(String config) {
        try {
            Native.reload(handle, config);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public void flush() {
        try {
            Native.flush(handle);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public void close() {
        try {
            Native.close(handle);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    public boolean isClosed() {
        try {
            return Native.isClosed(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
