// The management API client: JSON over fetch with the session's bearer token; a failed
// call becomes an ApiError carrying the server's status and message.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The error body as the server sent it (a config's `issues`, say). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get forbidden(): boolean {
    return this.status === 403;
  }

  get unauthenticated(): boolean {
    return this.status === 401;
  }
}

export interface List<T> {
  items: T[];
}

export interface Binding {
  id: string;
  role: string;
  department_id: string | null;
}

export interface Me {
  tenant_id: string;
  user_id: string;
  username: string;
  operator: boolean;
  bindings: Binding[];
  permissions: string[];
}

export interface Department {
  id: string;
  parent_id: string | null;
  name: string;
  created_at: number;
}

export interface App {
  id: string;
  department_id: string;
  name: string;
  created_at: number;
}

export interface AppKey {
  id: string;
  app_id: string;
  name: string;
  prefix: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface User {
  id: string;
  username: string;
  display_name: string | null;
  disabled: boolean;
  created_at: number;
}

export interface UserDetail extends User {
  bindings: Binding[];
}

export interface ConfigVersion {
  id: string;
  number: number;
  label: string | null;
  document: unknown;
  digest: string;
  author: string;
  created_at: number;
}

export interface ActiveConfig {
  version_id: string;
  previous_version_id: string | null;
  activated_by: string;
  activated_at: number;
}

export interface AuditRecord {
  seq: number;
  actor: string;
  role: string;
  action: string;
  target: string;
  source: string;
  at: number;
  hash: string;
}

export interface SecurityEvent {
  id: string;
  kind: string;
  subject: string;
  source: string;
  at: number;
}

export interface RolloutStep {
  percent: number;
  dwell_secs: number;
  min_samples: number;
}

export interface Rollout {
  id: string;
  name: string;
  model: string;
  baseline: string;
  candidate: string;
  sticky_by: string;
  steps: RolloutStep[];
  guards: Record<string, number | null>;
  /** `running`, `paused`, `completed` or `rolled_back`. */
  state: string;
  step: number;
  step_started_at: number;
  reason: string;
  evidence: unknown;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface ArmStats {
  arm: string;
  calls: number;
  errors: number;
  error_rate: number;
  p50_latency_ms: number;
  p95_latency_ms: number;
  p99_latency_ms: number;
  cost_usd: number;
  cost_per_call_usd: number;
}

export interface ArmMinute {
  minute: number;
  arm: string;
  calls: number;
  errors: number;
  cost_usd: number;
  p95_latency_ms: number | null;
}

export interface AbReport {
  rollout: string;
  model: string;
  since: number;
  baseline: ArmStats;
  candidate: ArmStats;
  error_rate_test: { z: number; p_value: number; p_worse: number } | null;
  latency_test: { z: number; p_value: number; p_worse: number } | null;
  series: ArmMinute[];
}

export interface AlertChannel {
  id: string;
  name: string;
  kind: string;
  url: string;
  created_at: number;
}

export interface AlertRule {
  id: string;
  name: string;
  kind: string;
  params: Record<string, unknown>;
  channel_ids: string[];
  action: unknown;
  for_ms: number;
  renotify_ms: number;
  created_at: number;
}

export interface AlertState {
  rule_id: string;
  subject: string;
  state: string;
  since: number;
  value: number;
  notified_at: number | null;
}

export interface AlertDelivery {
  id: string;
  rule_id: string;
  channel_id: string;
  subject: string;
  status: string;
  attempt: number;
  ok: boolean;
  http_status: number | null;
  error: string | null;
  at: number;
}

export interface AuditVerification {
  intact: boolean;
  records_checked: number;
  broken_seq: number | null;
  message: string;
}

type Fetch = typeof fetch;

/** The message of the server's error body (`{code, message, field}`), else the status. */
export function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; field?: unknown };
    if (typeof b.message === 'string') {
      return typeof b.field === 'string' ? `${b.field}: ${b.message}` : b.message;
    }
  }
  return `HTTP ${status}`;
}

export class Api {
  constructor(
    private token: string | null,
    private readonly fetchFn: Fetch = (...a) => fetch(...a),
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetchFn(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!res.ok) throw new ApiError(res.status, errorMessage(res.status, parsed), parsed);
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body ?? {});
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', path, body);
  }

  /** A GET whose answer is a file (a CSV export): its body and the header naming it. */
  async download(path: string): Promise<{ blob: Blob; disposition: string | null }> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await this.fetchFn(`/api/v1${path}`, { method: 'GET', headers });
    if (!res.ok) {
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      throw new ApiError(res.status, errorMessage(res.status, parsed));
    }
    return { blob: await res.blob(), disposition: res.headers.get('content-disposition') };
  }

  /** The tenant's identity provider, or undefined when it signs in with passwords only. */
  async ssoProvider(tenant: string): Promise<{ name: string; sso_required: boolean } | undefined> {
    try {
      return await this.get<{ name: string; sso_required: boolean }>(
        `/auth/oidc/provider?tenant=${encodeURIComponent(tenant)}`,
      );
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async login(tenant: string, username: string, password: string): Promise<string> {
    const r = await this.post<{ token: string }>('/auth/login', { tenant, username, password });
    this.token = r.token;
    return r.token;
  }
}
