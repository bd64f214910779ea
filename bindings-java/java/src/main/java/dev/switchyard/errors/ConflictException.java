//! Kind upstream with HTTP 409 from the provider.
package dev.switchyard.errors;

/** Kind upstream with HTTP 409 from the provider. */
public class ConflictException extends UpstreamException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 409;
    }
}
