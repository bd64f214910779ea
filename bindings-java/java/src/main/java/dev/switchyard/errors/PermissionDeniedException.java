//! Kind auth with HTTP 403 from the provider.
package dev.switchyard.errors;

/** Kind auth with HTTP 403 from the provider. */
public class PermissionDeniedException extends ServiceException {
    private static final long serialVersionUID = 1L;

    public PermissionDeniedException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 403;
    }
}
