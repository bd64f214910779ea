//! The ESM entry point: the CommonJS module's exports, named.
import cjs from './index.js';

export const {
  Switchyard, Stream, version, SwitchyardError, APIError, OpenAIError, APIStatusError,
  APIConnectionError, APITimeoutError, RateLimitError, TimeoutError, UpstreamError, NotFoundError,
  ConflictError, UnprocessableEntityError, UpstreamServerError, InternalServerError,
  AuthenticationError, PermissionDeniedError, BadRequestError, ContextWindowExceededError,
  ContentPolicyError, NetworkError, CanceledError, BudgetExceededError, UnavailableError,
  BudgetUnavailableError, OverloadedError, ConfigError, InternalError, PolicyViolationError,
} = cjs;
export default Switchyard;
