//! Kind context_window_exceeded: the prompt is longer than the model takes.
package dev.switchyard.errors;

/** Kind context_window_exceeded: the prompt is longer than the model takes. */
public class ContextWindowExceededException extends BadRequestException {
    private static final long serialVersionUID = 1L;

    public ContextWindowExceededException(String message, Data data) {
        super(message, data);
    }
}
