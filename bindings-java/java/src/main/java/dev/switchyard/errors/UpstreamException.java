//! Kind upstream: the provider answered with an error.
package dev.switchyard.errors;

/** Kind upstream: the provider answered with an error. */
public class UpstreamException extends ServiceException {
    private static final long serialVersionUID = 1L;

    public UpstreamException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 502;
    }
}
