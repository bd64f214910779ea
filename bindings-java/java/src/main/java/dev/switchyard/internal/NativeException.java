//! An engine error as thrown by the native library: its message is the error's data as JSON.
package dev.switchyard.internal;

/** Thrown by {@link Native}; {@link Errors#from} turns it into its public class. */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NativeException(String data) {
        super(data, null, false, false);
    }

    /** The error's data (docs/bindings.md) as JSON text. */
    public String data() {
        return getMessage();
    }
}
