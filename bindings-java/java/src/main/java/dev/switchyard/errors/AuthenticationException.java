//! Kind auth: the provider refused the key.
package dev.switchyard.errors;

/** Kind auth: the provider refused the key. */
public class AuthenticationException extends ServiceException {
    private static final long serialVersionUID = 1L;

    public AuthenticationException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 401;
    }
}
