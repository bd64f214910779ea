//! Kind upstream with a 5xx (or no) status from the provider.
package dev.switchyard.errors;

/** Kind upstream with a 5xx (or no) status from the provider. */
public class UpstreamServerException extends UpstreamException {
    private static final long serialVersionUID = 1L;

    public UpstreamServerException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 502;
    }
}
