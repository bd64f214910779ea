//! Kind content_policy: the provider's content filter refused the call.
package dev.switchyard.errors;

/** Kind content_policy: the provider's content filter refused the call. */
public class ContentPolicyException extends BadRequestException {
    private static final long serialVersionUID = 1L;

    public ContentPolicyException(String message, Data data) {
        super(message, data);
    }
}
