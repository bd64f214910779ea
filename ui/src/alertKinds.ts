// The alert rule kinds (docs/alerts.md) by category, each category's write permission and
// route, and a starting point for each kind's parameters.

export type Category = 'health' | 'cost' | 'security';

export interface Kind {
  kind: string;
  category: Category;
  /** Parameters to start from: the documented ones with plausible values. */
  params: Record<string, number>;
}

export const KINDS: readonly Kind[] = [
  { kind: 'error_rate', category: 'health', params: { window_minutes: 5, threshold: 0.1, min_calls: 20 } },
  { kind: 'p95_latency', category: 'health', params: { window_minutes: 5, threshold_ms: 2000, min_calls: 20 } },
  { kind: 'deployment_failing', category: 'health', params: { window_minutes: 5, min_errors: 5 } },
  { kind: 'rollout_rolled_back', category: 'health', params: { window_ms: 600000 } },
  { kind: 'budget_percent', category: 'cost', params: { percent: 80 } },
  { kind: 'spend_anomaly', category: 'cost', params: { window_minutes: 60, baseline_hours: 168, factor: 3 } },
  { kind: 'auth_failures', category: 'security', params: { window_ms: 300000, count: 20 } },
  { kind: 'policy_violations', category: 'security', params: { window_ms: 300000, count: 5 } },
];

/** The permission that creates and deletes rules of a category. */
export const permissionOf = (c: Category) => `alert.${c}.write`;

/** The category of a rule's kind; undefined for a kind this console does not know. */
export function categoryOf(kind: string): Category | undefined {
  return KINDS.find((k) => k.kind === kind)?.category;
}

/** The kinds a caller may create rules of. */
export function creatableKinds(can: (p: string) => boolean): Kind[] {
  return KINDS.filter((k) => can(permissionOf(k.category)));
}
