// The shapes of the usage, cost, budget and capacity APIs the console reads
// (docs/usage.md, docs/budgets.md, docs/capacity.md).

export interface Figures {
  calls: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_usd: number;
  cost_micros: number;
  error_rate: number;
  cache_hit_rate: number;
  local_share: number;
  latency_ms_avg: number | null;
  latency_ms_p50: number | null;
  latency_ms_p95: number | null;
  latency_ms_p99: number | null;
}

export interface UsagePoint extends Figures {
  time: number;
}

export interface UsageSeries {
  group: string | null;
  name: string | null;
  points: UsagePoint[];
}

export interface UsageReport {
  from: number;
  to: number;
  step_ms: number;
  group_by: string | null;
  series: UsageSeries[];
}

export type Grouping = 'department' | 'app' | 'model' | 'deployment';

export interface ReportItem {
  key: string;
  name: string | null;
  parent_id: string | null;
  own: Figures;
  total: Figures;
}

export interface CostReport {
  period: string | null;
  from: number;
  to: number;
  group_by: Grouping;
  total: Figures;
  total_cost_usd_cents: string;
  items: ReportItem[];
}

export interface BudgetState {
  period_start: number;
  period_end: number;
  spent_usd: number;
  reserved_usd: number;
  remaining_usd: number;
  live_leases: number;
}

export interface Budget {
  id: string;
  name: string;
  scope: 'tenant' | 'department' | 'app' | 'model';
  scope_ref: string | null;
  period: 'day' | 'week' | 'month';
  amount_usd: number;
  mode: 'hard' | 'soft';
  reroute_to: string | null;
  on_server_down: 'deny' | 'local' | 'allow';
  created_at: number;
  updated_at: number;
  state?: BudgetState;
}

export interface BudgetLease {
  lease_id: string;
  app_id: string;
  instance: string;
  created_at: number;
  expires_at: number;
  granted_usd: number;
  used_usd: number;
  ingested_usd: number;
}

export interface Load {
  requests_per_minute: number;
  tokens_per_minute: number;
  concurrency: number;
  error_rate: number;
  p95_ms: number | null;
}

export interface DeploymentHealth {
  deployment: string;
  now: Load;
  peak: Load;
  peak_minute: number | null;
  rate_limit_headroom: number | null;
}

export interface Forecast {
  hourly: number[];
  peak: number;
  backtest_wape: number | null;
}

export interface CapacityRow {
  model: string;
  deployment: string;
  history_from: number;
  history: number[];
  forecast: Forecast | null;
  per_replica_rpm: number | null;
  replicas_now: number | null;
  replicas_at_peak: number | null;
}
