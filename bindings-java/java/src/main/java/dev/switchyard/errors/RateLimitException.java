//! Kind rate_limited: a rate limit (the provider's, or the config's) refused the call.
package dev.switchyard.errors;

/** Kind rate_limited: a rate limit (the provider's, or the config's) refused the call. */
public class RateLimitException extends ServiceException {
    private static final long serialVersionUID = 1L;

    public RateLimitException(String message, Data data) {
        super(message, data);
    }

    @Override
    protected int nominalStatus() {
        return 429;
    }
}
