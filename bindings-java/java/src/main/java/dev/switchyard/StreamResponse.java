//! A streamed answer: AutoCloseable, Iterable and a java.util.stream.Stream of chunks; closing it drops the upstream request.
package dev.switchyard;

import dev.switchyard.internal.Errors;
import dev.switchyard.internal.Json;
import dev.switchyard.internal.Native;
import dev.switchyard.internal.NativeCall;
import dev.switchyard.internal.NativeException;
import dev.switchyard.models.CallInfo;
import java.lang.ref.Reference;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Use it in try-with-resources: {@code try (var s = client.chat().completions()
 * .createStreaming(params)) { s.stream().forEach(...); }}. Reading waits on the calling
 * thread (an interrupt cancels the stream with a {@code CanceledException}); {@link #close}
 * may come from any thread, and closes the upstream connection. An error ends the stream
 * and is thrown from the read. One iteration per stream.
 */
public final class StreamResponse<T> implements AutoCloseable, Iterable<T> {
    private final long handle;
    private final Function<String, T> parse;
    private volatile boolean closed;
    private boolean iterated;

    StreamResponse(long handle, Function<String, T> parse) {
        this.handle = handle;
        this.parse = parse;
        NativeCall.cleaner().register(this, () -> Native.freeStream(handle));
    }

    /** The chunks, read as the iteration asks for them. */
    @Override
    public synchronized Iterator<T> iterator() {
        if (iterated) {
            throw new IllegalStateException("a stream can be iterated once");
        }
        iterated = true;
        return new Iterator<>() {
            private T next;
            private boolean done;

            @Override
            public boolean hasNext() {
                if (next == null && !done) {
                    String chunk = read();
                    if (chunk == null) {
                        done = true;
                    } else {
                        next = parse.apply(chunk);
                    }
                }
                return next != null;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                T out = next;
                next = null;
                return out;
            }
        };
    }

    /** The chunks as a sequential stream; closing it closes this. */
    public Stream<T> stream() {
        Spliterator<T> split = Spliterators.spliteratorUnknownSize(iterator(), Spliterator.ORDERED | Spliterator.NONNULL);
        return StreamSupport.stream(split, false).onClose(this::close);
    }

    private String read() {
        if (closed) {
            return null;
        }
        try {
            return Native.streamNext(handle);
        } catch (NativeException e) {
            closed = true;
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** What the pipeline did; complete (cost included) once the stream has ended. */
    public CallInfo switchyard() {
        try {
            return new CallInfo(Json.parse(Native.streamMeta(handle)));
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Stops reading and closes the upstream connection; a read in flight finishes first. */
    @Override
    public void close() {
        closed = true;
        try {
            Native.streamClose(handle);
        } catch (NativeException e) {
            throw Errors.from(e);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** Whether the engine's stream is closed (read to its end, failed, or closed): its
     *  upstream connection is gone. A close requested during a read takes effect when the
     *  read returns. */
    public boolean isClosed() {
        try {
            return Native.streamIsClosed(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }
}
