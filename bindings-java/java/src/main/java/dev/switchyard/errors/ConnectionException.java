//! The provider could not be reached or did not answer in time.
package dev.switchyard.errors;

/** The provider could not be reached or did not answer in time. */
public class ConnectionException extends SwitchyardException {
    private static final long serialVersionUID = 1L;

    public ConnectionException(String message, Data data) {
        super(message, data);
    }
}
