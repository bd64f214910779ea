//! Kind unavailable: nothing can answer (every deployment down, the client closed, the process exiting).
package dev.switchyard.errors;

/** Kind unavailable: nothing can answer (every deployment down, the client closed, the process exiting). */
public class UnavailableException extends InternalServerException {
    private static final long serialVersionUID = 1L;

    public UnavailableException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 503;
    }
}
