//! Kind bad_request: the request or an option is invalid; field() names it.
package dev.switchyard.errors;

/** Kind bad_request: the request or an option is invalid; field() names it. */
public class BadRequestException extends ServiceException {
    private static final long serialVersionUID = 1L;

    public BadRequestException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 400;
    }
}
