//! The native library's entry points (libswitchyard_java.so, bindings-java/src/): JSON text in, JSON text out.
package dev.switchyard.internal;

/**
 * The engine's JNI surface. Internal: the public API is {@code dev.switchyard.Switchyard}.
 * Handles ({@code long}) are owned by the Java object that received them, which frees them
 * once (a {@link java.lang.ref.Cleaner}) and keeps itself reachable across each call.
 * Failures are thrown as {@link NativeException} carrying the error's data.
 */
public final class Native {
    private Native() {}

    static {
        NativeLoader.load();
        Runtime.getRuntime().addShutdownHook(new Thread(Native::atExit, "switchyard-exit"));
    }

    /** Loads the library (and registers the exit hook) if not yet done. */
    public static void ensureLoaded() {}

    public static native String version();

    /** Ships usage and telemetry still buffered and stops the engine: the JVM is exiting. */
    static native void atExit();

    /** YAML (or JSON) text as JSON text, read by the engine's YAML reader. */
    public static native String parseYaml(String text);

    /** Checks call options as a call would. */
    public static native void checkOptions(String options);

    public static native long open(String specJson);

    public static native void freeClient(long client);

    /** {@code kind} of {@link #call} and {@link #callAsync}. */
    public static final int CHAT = 0;

    public static final int EMBED = 1;

    /** A chat completion or embeddings, waited for on this thread (an interrupt cancels it). */
    public static native String call(long client, int kind, String request, String options);

    public static native long callAsync(long client, int kind, String request, String options, NativeCall<?> call);

    public static native long chatStream(long client, String request, String options);

    public static native long chatStreamAsync(long client, String request, String options, NativeCall<?> call);

    public static native void cancelCall(long call);

    public static native void freeCall(long call);

    /** 0: models, 1: metrics, 2: config. */
    public static native String read(long client, int what);

    public static native void reload(long client, String config);

    public static native void flush(long client);

    public static native void close(long client);

    public static native boolean isClosed(long client);

    public static native String streamNext(long stream);

    public static native String streamMeta(long stream);

    public static native void streamClose(long stream);

    public static native boolean streamIsClosed(long stream);

    public static native void freeStream(long stream);
}
