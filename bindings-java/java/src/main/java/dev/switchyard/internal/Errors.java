//! The one error-mapping function: the engine's error data to its exception class.
package dev.switchyard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.switchyard.errors.*;
import dev.switchyard.errors.SwitchyardException.Data;

/** Maps error data (docs/bindings.md) to the class of its kind, refined by HTTP status. */
public final class Errors {
    private Errors() {}

    /** The exception for a {@link NativeException}. */
    public static SwitchyardException from(NativeException e) {
        return from(e.data());
    }

    public static SwitchyardException from(String json) {
        JsonNode n = Json.parse(json);
        Data data = new Data(
                text(n, "kind"),
                text(n, "message"),
                text(n, "field"),
                text(n, "provider"),
                text(n, "deployment"),
                text(n, "request_id"),
                n.path("retry_after").isNumber() ? n.get("retry_after").asDouble() : null,
                n.path("status").isNumber() ? n.get("status").asInt() : null,
                n.path("http_status").isNumber() ? n.get("http_status").asInt() : null,
                n.path("retryable").asBoolean(false),
                text(n, "budget"),
                text(n, "rule"));
        String display = n.path("display").isTextual() ? n.get("display").asText() : data.message();
        return of(display, data);
    }

    /** A bad_request raised on the Java side (before anything reaches the engine). */
    public static BadRequestException badRequest(String field, String message) {
        String where = field == null || field.isEmpty() ? "the value" : field;
        return new BadRequestException(
                "bad request (" + where + "): " + message,
                new Data("bad_request", message, field, null, null, null, null, null, null, false, null));
    }

    static SwitchyardException of(String message, Data d) {
        String kind = d.kind() == null ? "internal" : d.kind();
        Integer http = d.httpStatus();
        if (http != null) {
            if (kind.equals("auth") && http == 403) {
                return new PermissionDeniedException(message, d);
            }
            if ((kind.equals("bad_request") || kind.equals("upstream")) && http == 422) {
                return new UnprocessableEntityException(message, d);
            }
            if (kind.equals("upstream") && http == 404) {
                return new NotFoundException(message, d);
            }
            if (kind.equals("upstream") && http == 409) {
                return new ConflictException(message, d);
            }
        }
        return switch (kind) {
            case "rate_limited" -> new RateLimitException(message, d);
            case "context_window_exceeded" -> new ContextWindowExceededException(message, d);
            case "content_policy" -> new ContentPolicyException(message, d);
            case "timeout" -> new RequestTimeoutException(message, d);
            case "upstream" -> d.status() == null || d.status() >= 500
                    ? new UpstreamServerException(message, d)
                    : new UpstreamException(message, d);
            case "auth" -> new AuthenticationException(message, d);
            case "bad_request" -> new BadRequestException(message, d);
            case "network" -> new NetworkException(message, d);
            case "canceled" -> new CanceledException(message, d);
            case "budget_exceeded" -> new BudgetExceededException(message, d);
            case "unavailable" -> new UnavailableException(message, d);
            case "budget_unavailable" -> new BudgetUnavailableException(message, d);
            case "overloaded" -> new OverloadedException(message, d);
            case "config" -> new ConfigException(message, d);
            case "internal" -> new InternalException(message, d);
            case "policy_violation" -> new PolicyViolationException(message, d);
            default -> new SwitchyardException(message, d);
        };
    }

    private static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? null : v.asText();
    }
}
