//! Errors an HTTP status explains (the OpenAI SDKs' status errors): the status code is the provider's, else nominal.
package dev.switchyard.errors;

/** An error with a status code: the provider's answer's, else the one an HTTP API would give. */
public class ServiceException extends SwitchyardException {
    private static final long serialVersionUID = 1L;

    public ServiceException(String message, Data data) {
        super(message, data);
    }

    /** The status an HTTP API answers for this kind when the provider gave none. */
    protected int nominalStatus() {
        return 500;
    }

    public int statusCode() {
        return httpStatus().or(this::status).orElse(nominalStatus());
    }
}
