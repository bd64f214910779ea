//! Kind network: the connection failed or broke.
package dev.switchyard.errors;

/** Kind network: the connection failed or broke. */
public class NetworkException extends ConnectionException {
    private static final long serialVersionUID = 1L;

    public NetworkException(String message, Data data) {
        super(message, data);
    }
}
