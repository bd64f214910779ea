//! Kind canceled: the call was canceled (a future canceled, a stream closed, the thread interrupted, the client closed).
package dev.switchyard.errors;

/** Kind canceled: the call was canceled (a future canceled, a stream closed, the thread interrupted, the client closed). */
public class CanceledException extends SwitchyardException {
    private static final long serialVersionUID = 1L;

    public CanceledException(String message, Data data) {
        super(message, data);
    }
}
