//! A call started on the engine: a CompletableFuture that an engine thread completes and whose cancel drops the call.
package dev.switchyard.internal;

import java.lang.ref.Cleaner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Function;
import java.util.function.LongFunction;

/**
 * The native side calls {@code onValue}, {@code onStream} or {@code onError} once from an
 * engine thread. Completion is handed to an executor (the common pool), so that the
 * caller's continuations never run on, and never block, an engine thread. {@link #cancel},
 * or any completion from outside ({@code orTimeout}, {@code completeExceptionally}), drops
 * the engine call and its upstream request; the native side then never calls back.
 */
public final class NativeCall<T> extends CompletableFuture<T> {
    static final Cleaner CLEANER = Cleaner.create();
    private static final Executor COMPLETER = ForkJoinPool.commonPool();

    private final Function<String, T> fromJson;
    private final LongFunction<T> fromStream;
    private volatile long handle;

    public NativeCall(Function<String, T> fromJson, LongFunction<T> fromStream) {
        this.fromJson = fromJson;
        this.fromStream = fromStream;
    }

    /** Takes the call's native handle (freed when this future is unreachable). */
    public NativeCall<T> started(long handle) {
        this.handle = handle;
        CLEANER.register(this, () -> Native.freeCall(handle));
        if (isCancelled()) {
            Native.cancelCall(handle);
        }
        return this;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        return dropIf(super.cancel(mayInterruptIfRunning));
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        return dropIf(super.completeExceptionally(ex));
    }

    @Override
    public boolean complete(T value) {
        return dropIf(super.complete(value));
    }

    /** Drops the engine call once this future is settled (a no-op for a call that ended). */
    private boolean dropIf(boolean settled) {
        long h = handle;
        if (settled && h != 0) {
            Native.cancelCall(h);
        }
        return settled;
    }

    // Called from engine threads.
    void onValue(String json) {
        COMPLETER.execute(() -> settle(() -> fromJson.apply(json)));
    }

    void onStream(long stream) {
        COMPLETER.execute(() -> settle(() -> fromStream.apply(stream)));
    }

    void onError(String data) {
        COMPLETER.execute(() -> completeExceptionally(Errors.from(data)));
    }

    private void settle(java.util.function.Supplier<T> value) {
        try {
            T out = value.get();
            if (!complete(out) && out instanceof AutoCloseable late) {
                // Canceled while the stream opened: nobody will read it.
                late.close();
            }
        } catch (Exception e) {
            completeExceptionally(e);
        }
    }

    /** The cleaner every native handle is freed by. */
    public static Cleaner cleaner() {
        return CLEANER;
    }
}
