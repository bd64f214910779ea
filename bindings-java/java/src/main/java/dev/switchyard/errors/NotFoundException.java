//! Kind upstream with HTTP 404 from the provider.
package dev.switchyard.errors;

/** Kind upstream with HTTP 404 from the provider. */
public class NotFoundException extends UpstreamException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 404;
    }
}
