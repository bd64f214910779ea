//! Errors of the engine's side: unavailable, overloaded, internal.
package dev.switchyard.errors;

/** Errors of the engine's side: unavailable, overloaded, internal. */
public class InternalServerException extends ServiceException {
    private static final long serialVersionUID = 1L;

    public InternalServerException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 500;
    }
}
