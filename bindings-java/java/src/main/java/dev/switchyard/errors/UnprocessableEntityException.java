//! Kind upstream or bad_request with HTTP 422 from the provider.
package dev.switchyard.errors;

/** Kind upstream or bad_request with HTTP 422 from the provider. */
public class UnprocessableEntityException extends UpstreamException {
    private static final long serialVersionUID = 1L;

    public UnprocessableEntityException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 422;
    }
}
