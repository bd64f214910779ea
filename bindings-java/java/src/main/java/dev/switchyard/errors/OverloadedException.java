//! Kind overloaded: the provider (or the engine) is overloaded.
package dev.switchyard.errors;

/** Kind overloaded: the provider (or the engine) is overloaded. */
public class OverloadedException extends InternalServerException {
    private static final long serialVersionUID = 1L;

    public OverloadedException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 503;
    }
}
