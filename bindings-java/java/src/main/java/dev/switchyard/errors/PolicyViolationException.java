//! Kind policy_violation: a guardrail refused the request before it left.
package dev.switchyard.errors;

/**
 * Kind policy_violation: a guardrail (a deny pattern, a topic rule, the model allow-list)
 * refused the request before it left the process; {@link #rule()} names it
 * (docs/guardrails.md). A 400 as the OpenAI SDKs see it; never retried or fallen back.
 */
public class PolicyViolationException extends BadRequestException {
    private static final long serialVersionUID = 1L;

    public PolicyViolationException(String message, Data data) {
        super(message, data);
    }
}
