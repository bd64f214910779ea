//! Kind internal: a fault inside Switchyard (a Rust panic is one), never the caller's.
package dev.switchyard.errors;

/** Kind internal: a fault inside Switchyard (a Rust panic is one), never the caller's. */
public class InternalException extends InternalServerException {
    private static final long serialVersionUID = 1L;

    public InternalException(String message, Data data) {
        super(message, data);
    }
}
