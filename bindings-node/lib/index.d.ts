//! Type declarations of the `switchyard` npm package (lib/index.js). The request and
//! response shapes are the OpenAI API's; `switchyard` on a result is what the engine did.

export interface ClientOptions {
  /** The config itself, or the path of a YAML or JSON config file. */
  config?: Record<string, unknown> | string;
  /** The path of a YAML or JSON config file. */
  configFile?: string;
  /** Seconds between checks of the config file for changes. */
  watch?: number;
  /** A management server to fetch the config from, with `apiKey`. */
  server?: string;
  apiKey?: string;
  /** A file to start from while the server is unreachable. */
  configCache?: string;
  otlpEndpoint?: string;
  serviceName?: string;
  /** Every call's default timeout, in milliseconds. */
  timeout?: number;
  maxRetries?: number;
}

/** Per-call options (the second argument of every `create`). */
export interface RequestOptions {
  signal?: AbortSignal;
  /** The whole call's limit, in milliseconds (as in the `openai` package). */
  timeout?: number;
  maxRetries?: number;
  /** The end user the call is made for (usage and budgets). */
  user?: string;
  endUser?: string;
  tags?: string[];
  metadata?: Record<string, string>;
  tenant?: string;
  app?: string;
  session?: string;
  /** `"bypass"` skips the response cache for this call; `false` too. */
  cache?: string | boolean;
  /** Pins the call to one deployment (`provider/model`). */
  deployment?: string;
}

/** What the pipeline did for a call. */
export interface CallMeta {
  /** The logical model that answered (differs from the requested one after a fallback). */
  model: string;
  deployment: string;
  provider: string;
  upstream_model: string;
  /** Upstream attempts made, across retries and fallbacks (0 for a cache hit). */
  attempts: number;
  cache_hit: boolean;
  /** The fallback model the call moved to, if it did. */
  fallback: string | null;
  cost_usd: number;
  latency_ms: number;
  /** Answered by the in-process model. */
  local: boolean;
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | Array<Record<string, unknown>> | null;
  name?: string;
  tool_calls?: Array<Record<string, unknown>>;
  tool_call_id?: string;
}

export interface ChatCompletionCreateParams {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string | string[];
  tools?: Array<Record<string, unknown>>;
  tool_choice?: unknown;
  response_format?: Record<string, unknown>;
  user?: string;
  [key: string]: unknown;
}

/** The params of a call answered in one piece, and of a stream (as in `openai`). */
export type ChatCompletionCreateParamsNonStreaming = ChatCompletionCreateParams & { stream?: false | null };
export type ChatCompletionCreateParamsStreaming = ChatCompletionCreateParams & { stream: true };

export interface Usage {
  prompt_tokens: number;
  completion_tokens?: number;
  total_tokens: number;
  [key: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: Array<Record<string, unknown>> | null; [key: string]: unknown };
    finish_reason: string | null;
    [key: string]: unknown;
  }>;
  usage?: Usage | null;
  switchyard: CallMeta;
  [key: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string | null; tool_calls?: Array<Record<string, unknown>> | null; [key: string]: unknown };
    finish_reason: string | null;
    [key: string]: unknown;
  }>;
  usage?: Usage | null;
  [key: string]: unknown;
}

export interface EmbeddingCreateParams {
  model: string;
  input: string | string[];
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
  user?: string;
  [key: string]: unknown;
}

export interface CreateEmbeddingResponse {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] }>;
  model: string;
  usage: Usage;
  switchyard: CallMeta;
}

export interface Model {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface ModelsPage extends AsyncIterable<Model> {
  object: 'list';
  data: Model[];
}

/** A streamed chat completion; iterate it with `for await`. */
export declare class Stream implements AsyncIterable<ChatCompletionChunk> {
  readonly controller: AbortController;
  /** What the pipeline did; complete (cost included) once the stream has ended. */
  readonly switchyard: CallMeta;
  readonly closed: boolean;
  next(): Promise<ChatCompletionChunk | null>;
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<ChatCompletionChunk>;
}

export declare class Switchyard {
  /** With `server`, waits for the first config and blocks the event loop meanwhile. */
  constructor(opts?: ClientOptions);
  /** The client built off the event loop; `signal` gives up waiting for it. */
  static create(opts?: ClientOptions & { signal?: AbortSignal }): Promise<Switchyard>;
  readonly chat: {
    completions: {
      create(params: ChatCompletionCreateParamsStreaming, options?: RequestOptions): Promise<Stream>;
      create(params: ChatCompletionCreateParamsNonStreaming, options?: RequestOptions): Promise<ChatCompletion>;
      create(params: ChatCompletionCreateParams, options?: RequestOptions): Promise<ChatCompletion | Stream>;
    };
  };
  readonly embeddings: {
    create(params: EmbeddingCreateParams, options?: RequestOptions): Promise<CreateEmbeddingResponse>;
  };
  readonly models: { list(): Promise<ModelsPage> };
  /** A copy whose calls default to these options; it shares the engine. */
  withOptions(options: { timeout?: number; maxRetries?: number }): Switchyard;
  /** Calls, latencies, tokens, cost and errors so far, per model and deployment. */
  metrics(): Record<string, unknown>;
  /** The config in force, secrets redacted. */
  config(): Record<string, unknown>;
  /** Resolves once the usage recorded so far reached the server (or its spool on disk). */
  flush(): Promise<void>;
  /** Swaps in a new config; an invalid one throws a ConfigError and the old one stays. */
  reload(config: Record<string, unknown> | string): void;
  /** Lets the calls in flight finish, stops the config watcher, flushes usage. */
  close(): Promise<void>;
  readonly closed: boolean;
}

export default Switchyard;
export declare const version: string;

/** The engine's error data (docs/bindings.md). */
export interface ErrorData {
  kind: string;
  message: string;
  display: string;
  field: string | null;
  provider: string | null;
  deployment: string | null;
  request_id: string | null;
  retry_after: number | null;
  status: number | null;
  http_status: number | null;
  retryable: boolean;
  budget: string | null;
  rule?: string | null;
}

export declare class SwitchyardError extends Error {
  constructor(message: string, data?: Partial<ErrorData>);
  /** The stable error kind (`rate_limited`, `bad_request`, ...). */
  readonly code: string;
  /** The human message alone (`message` adds the kind, field and deployment). */
  readonly detail: string;
  /** The HTTP status the provider sent, where one explains the error. */
  readonly status: number | null;
  /** Seconds the provider asked to wait (rate limits). */
  readonly retryAfter: number | null;
  readonly provider: string | null;
  readonly deployment: string | null;
  readonly requestId: string | null;
  /** The request field (bad_request) or config path (config) at fault. */
  readonly field: string | null;
  /** Whether the same request may succeed if sent again. */
  readonly retryable: boolean;
  /** The budget a budget_exceeded or budget_unavailable error names. */
  readonly budget: string | null;
  /** The status of the provider's error answer, whenever the error is one. */
  readonly httpStatus: number | null;
  /** The guardrail a policy_violation names (`docs/guardrails.md`). */
  readonly rule: string | null;
  /** The `openai` package's names: `param` is the field, `type` the kind. */
  readonly param: string | null;
  readonly type: string;
  readonly error: { message: string; type: string; param: string | null; code: string };
}
export declare class APIStatusError extends SwitchyardError {
  /** The provider's status, or the one an HTTP API would answer for this kind. */
  readonly statusCode: number;
}
export declare class APIConnectionError extends SwitchyardError {}
export declare class RateLimitError extends APIStatusError {}
export declare class TimeoutError extends APIConnectionError {}
export declare class UpstreamError extends APIStatusError {}
export declare class NotFoundError extends UpstreamError {}
export declare class ConflictError extends UpstreamError {}
export declare class UnprocessableEntityError extends UpstreamError {}
export declare class UpstreamServerError extends UpstreamError {}
export declare class InternalServerError extends APIStatusError {}
export declare class AuthenticationError extends APIStatusError {}
export declare class PermissionDeniedError extends APIStatusError {}
export declare class BadRequestError extends APIStatusError {}
export declare class ContextWindowExceededError extends BadRequestError {}
export declare class ContentPolicyError extends BadRequestError {}
/** A guardrail refused the request before it left; `rule` names it. */
export declare class PolicyViolationError extends BadRequestError {}
export declare class NetworkError extends APIConnectionError {}
export declare class CanceledError extends SwitchyardError {}
export declare class BudgetExceededError extends RateLimitError {}
export declare class UnavailableError extends InternalServerError {}
export declare class BudgetUnavailableError extends InternalServerError {}
export declare class OverloadedError extends InternalServerError {}
export declare class ConfigError extends SwitchyardError {}
export declare class InternalError extends InternalServerError {}
export { SwitchyardError as APIError, SwitchyardError as OpenAIError, TimeoutError as APITimeoutError };
