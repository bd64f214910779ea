//! The error classes: one per core error kind under `SwitchyardError`, placed as the
//! official `openai` package places its own (`APIStatusError` with `status_code` above the
//! errors an HTTP status explains, `APIConnectionError` above network errors and timeouts),
//! with the same fields as the Python binding's. `fromNative` maps the engine's error data
//! (docs/bindings.md) to its class.
'use strict';

class SwitchyardError extends Error {
  constructor(message, data = {}) {
    super(message);
    this.name = new.target.name;
    this.code = data.kind ?? new.target.code ?? 'error';
    /** The human message alone (`message` adds the kind, field and deployment). */
    this.detail = data.message ?? message;
    this.status = data.status ?? null;
    this.retryAfter = data.retry_after ?? null;
    this.provider = data.provider ?? null;
    this.deployment = data.deployment ?? null;
    this.requestId = data.request_id ?? null;
    this.field = data.field ?? null;
    this.retryable = data.retryable ?? false;
    this.budget = data.budget ?? null;
    this.httpStatus = data.http_status ?? null;
    /** The guardrail a `policy_violation` names (docs/guardrails.md). */
    this.rule = data.rule ?? null;
    // The `openai` package's attributes: `param` is the field at fault, `type` the kind.
    this.param = this.field;
    this.type = this.code;
    this.error = { message: this.detail, type: this.code, param: this.field, code: this.code };
  }
}
SwitchyardError.code = 'error';

class APIStatusError extends SwitchyardError {
  constructor(message, data = {}) {
    super(message, data);
    const known = this.httpStatus ?? this.status;
    this.statusCode = known ?? new.target.nominalStatus;
  }
}
APIStatusError.nominalStatus = 500;

/** Defines a subclass with its kind and the status an HTTP API would answer for it. */
function kind(name, base, code, nominalStatus) {
  const cls = { [name]: class extends base {} }[name];
  if (code !== undefined) cls.code = code;
  if (nominalStatus !== undefined) cls.nominalStatus = nominalStatus;
  return cls;
}

const APIConnectionError = kind('APIConnectionError', SwitchyardError, 'network');
const RateLimitError = kind('RateLimitError', APIStatusError, 'rate_limited', 429);
const TimeoutError = kind('TimeoutError', APIConnectionError, 'timeout');
const UpstreamError = kind('UpstreamError', APIStatusError, 'upstream', 502);
const NotFoundError = kind('NotFoundError', UpstreamError, undefined, 404);
const ConflictError = kind('ConflictError', UpstreamError, undefined, 409);
const UnprocessableEntityError = kind('UnprocessableEntityError', UpstreamError, undefined, 422);
const UpstreamServerError = kind('UpstreamServerError', UpstreamError, undefined, 502);
const InternalServerError = kind('InternalServerError', APIStatusError, undefined, 500);
const AuthenticationError = kind('AuthenticationError', APIStatusError, 'auth', 401);
const PermissionDeniedError = kind('PermissionDeniedError', APIStatusError, 'auth', 403);
const BadRequestError = kind('BadRequestError', APIStatusError, 'bad_request', 400);
const ContextWindowExceededError = kind('ContextWindowExceededError', BadRequestError, 'context_window_exceeded');
const ContentPolicyError = kind('ContentPolicyError', BadRequestError, 'content_policy');
const PolicyViolationError = kind('PolicyViolationError', BadRequestError, 'policy_violation');
const NetworkError = kind('NetworkError', APIConnectionError, 'network');
const CanceledError = kind('CanceledError', SwitchyardError, 'canceled');
const BudgetExceededError = kind('BudgetExceededError', RateLimitError, 'budget_exceeded');
const UnavailableError = kind('UnavailableError', InternalServerError, 'unavailable', 503);
const BudgetUnavailableError = kind('BudgetUnavailableError', InternalServerError, 'budget_unavailable', 503);
const OverloadedError = kind('OverloadedError', InternalServerError, 'overloaded', 503);
const ConfigError = kind('ConfigError', SwitchyardError, 'config');
const InternalError = kind('InternalError', InternalServerError, 'internal');

const BY_CODE = Object.fromEntries(
  [
    RateLimitError, ContextWindowExceededError, ContentPolicyError, TimeoutError, UpstreamError,
    AuthenticationError, BadRequestError, NetworkError, CanceledError, BudgetExceededError,
    UnavailableError, BudgetUnavailableError, OverloadedError, ConfigError, InternalError,
    PolicyViolationError,
  ].map((cls) => [cls.code, cls]),
);

// Kinds whose class the provider's status refines, as the `openai` package picks by status.
const BY_STATUS = {
  'auth/403': PermissionDeniedError,
  'bad_request/422': UnprocessableEntityError,
  'upstream/404': NotFoundError,
  'upstream/409': ConflictError,
  'upstream/422': UnprocessableEntityError,
};

/** The error for the engine's error data. */
function fromNative(data) {
  let cls = BY_STATUS[`${data.kind}/${data.http_status}`] || BY_CODE[data.kind] || SwitchyardError;
  if (cls === UpstreamError && (data.status == null || data.status >= 500)) cls = UpstreamServerError;
  return new cls(data.display ?? data.message, data);
}

const PREFIX = 'switchyard:';

/** A native exception carrying error data (thrown synchronously) as its class. */
function rethrown(error) {
  if (error && typeof error.message === 'string' && error.message.startsWith(PREFIX)) {
    return fromNative(JSON.parse(error.message.slice(PREFIX.length)));
  }
  return error;
}

module.exports = {
  SwitchyardError, APIError: SwitchyardError, OpenAIError: SwitchyardError, APIStatusError,
  APIConnectionError, APITimeoutError: TimeoutError, RateLimitError, TimeoutError, UpstreamError,
  NotFoundError, ConflictError, UnprocessableEntityError, UpstreamServerError, InternalServerError,
  AuthenticationError, PermissionDeniedError, BadRequestError, ContextWindowExceededError,
  ContentPolicyError, NetworkError, CanceledError, BudgetExceededError, UnavailableError,
  BudgetUnavailableError, OverloadedError, ConfigError, InternalError, PolicyViolationError,
  fromNative, rethrown,
};
