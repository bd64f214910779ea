//! The root of the SDK's unchecked exceptions: one subclass per engine error kind, with the shared fields.
package dev.switchyard.errors;

import java.util.Optional;

/**
 * Every failure of a Switchyard call. The subclass says the kind ({@link #kind()}); the
 * getters are the fields every SDK reports (docs/bindings.md, "Errors"). The classes are
 * placed as the OpenAI SDKs place theirs: {@link ServiceException} (with a status code)
 * above the errors an HTTP status explains, {@link ConnectionException} above network
 * errors and timeouts.
 */
public class SwitchyardException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The error's data as the engine reports it. */
    public record Data(
            String kind,
            String message,
            String field,
            String provider,
            String deployment,
            String requestId,
            Double retryAfter,
            Integer status,
            Integer httpStatus,
            boolean retryable,
            String budget,
            String rule) {
        /** The fields before {@code rule} was added: no guardrail named. */
        public Data(
                String kind,
                String message,
                String field,
                String provider,
                String deployment,
                String requestId,
                Double retryAfter,
                Integer status,
                Integer httpStatus,
                boolean retryable,
                String budget) {
            this(kind, message, field, provider, deployment, requestId, retryAfter, status, httpStatus, retryable, budget, null);
        }
    }

    private final transient Data data;

    public SwitchyardException(String message, Data data) {
        super(message);
        this.data = data;
    }

    /** The kind: {@code rate_limited}, {@code bad_request}, {@code timeout}, ... */
    public String kind() {
        return data.kind();
    }

    /** The human message alone ({@link #getMessage()} adds kind, field and deployment). */
    public String detail() {
        return data.message();
    }

    /** The request field or option at fault ({@code bad_request}), the config path ({@code config}). */
    public Optional<String> field() {
        return Optional.ofNullable(data.field());
    }

    public Optional<String> provider() {
        return Optional.ofNullable(data.provider());
    }

    public Optional<String> deployment() {
        return Optional.ofNullable(data.deployment());
    }

    public Optional<String> requestId() {
        return Optional.ofNullable(data.requestId());
    }

    /** Seconds the provider asked to wait. */
    public Optional<Double> retryAfter() {
        return Optional.ofNullable(data.retryAfter());
    }

    /** The HTTP status the provider sent, where one explains the error. */
    public Optional<Integer> status() {
        return Optional.ofNullable(data.status());
    }

    /** The status of the provider's error answer, whenever the error is one. */
    public Optional<Integer> httpStatus() {
        return Optional.ofNullable(data.httpStatus());
    }

    /** Whether the same request may succeed if sent again. */
    public boolean retryable() {
        return data.retryable();
    }

    /** The budget a {@code budget_exceeded} error names. */
    public Optional<String> budget() {
        return Optional.ofNullable(data.budget());
    }

    /** The guardrail a {@code policy_violation} names (docs/guardrails.md). */
    public Optional<String> rule() {
        return Optional.ofNullable(data.rule());
    }

    public Data data() {
        return data;
    }
}
