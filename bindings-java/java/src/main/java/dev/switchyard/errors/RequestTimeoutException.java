//! Kind timeout: the call's deadline passed (the timeout option, or the model's deadline_ms).
package dev.switchyard.errors;

/** Kind timeout: the call's deadline passed (the timeout option, or the model's deadline_ms). */
public class RequestTimeoutException extends ConnectionException {
    private static final long serialVersionUID = 1L;

    public RequestTimeoutException(String message, Data data) {
        super(message, data);
    }
}
