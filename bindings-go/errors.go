package switchyard

import (
	"context"
	"encoding/json"
	"errors"
)

// Kind is an error's kind: the engine's stable error code (kinds are added, never renamed).
type Kind string

// The error kinds (docs/bindings.md, "Errors").
const (
	KindRateLimited           Kind = "rate_limited"
	KindContextWindowExceeded Kind = "context_window_exceeded"
	KindContentPolicy         Kind = "content_policy"
	KindTimeout               Kind = "timeout"
	KindUpstream              Kind = "upstream"
	KindAuth                  Kind = "auth"
	KindBadRequest            Kind = "bad_request"
	KindNetwork               Kind = "network"
	KindCanceled              Kind = "canceled"
	KindBudgetExceeded        Kind = "budget_exceeded"
	KindBudgetUnavailable     Kind = "budget_unavailable"
	KindUnavailable           Kind = "unavailable"
	KindOverloaded            Kind = "overloaded"
	KindConfig                Kind = "config"
	KindInternal              Kind = "internal"
	// KindPolicyViolation: a guardrail refused the request before it left (Rule names it).
	KindPolicyViolation Kind = "policy_violation"
)

// Error is every error the SDK returns: the engine's error data, read with errors.As.
// Empty strings and zeros stand for the engine's nulls.
type Error struct {
	Kind Kind `json:"kind"`
	// Message is the human message alone; Error() adds the kind, field and deployment.
	Message string `json:"message"`
	Display string `json:"display"`
	// Field is the request field or option at fault (bad_request), or the config path
	// (config).
	Field      string `json:"field"`
	Provider   string `json:"provider"`
	Deployment string `json:"deployment"`
	RequestID  string `json:"request_id"`
	// RetryAfter is the seconds the provider asked to wait (rate_limited).
	RetryAfter float64 `json:"retry_after"`
	// Status is the HTTP status the provider sent, where one explains the error.
	Status int `json:"status"`
	// HTTPStatus is the status of the provider's error answer, whenever the error is one.
	HTTPStatus int  `json:"http_status"`
	Retryable  bool `json:"retryable"`
	// Budget names the budget of a budget_exceeded or budget_unavailable error.
	Budget string `json:"budget"`
	// Rule names the guardrail of a policy_violation (docs/guardrails.md).
	Rule string `json:"rule"`

	cause error
}

func (e *Error) Error() string {
	if e.Display != "" {
		return e.Display
	}
	return string(e.Kind) + ": " + e.Message
}

// Unwrap is the context's error for a call that ctx ended (context.Canceled or
// context.DeadlineExceeded), so errors.Is works on it too.
func (e *Error) Unwrap() error { return e.cause }

// decodeError reads an error's JSON from the C ABI.
func decodeError(body []byte) *Error {
	e := &Error{}
	if err := json.Unmarshal(body, e); err != nil || e.Kind == "" {
		return &Error{Kind: KindInternal, Message: "unreadable error from the engine: " + string(body)}
	}
	return e
}

// contextError is the error of a call that its context ended: canceled, or a timeout for
// a deadline.
func contextError(err error) *Error {
	kind := KindCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		kind = KindTimeout
	}
	return &Error{Kind: kind, Message: err.Error(), Display: string(kind) + ": " + err.Error(), Retryable: kind == KindTimeout, cause: err}
}

// badRequest is an error found before the engine sees the request.
func badRequest(field, message string) *Error {
	display := "bad_request: " + message
	if field != "" {
		display = "bad_request (" + field + "): " + message
	}
	return &Error{Kind: KindBadRequest, Message: message, Display: display, Field: field}
}
