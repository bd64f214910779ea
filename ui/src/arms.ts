// A rollout report's per-minute series (one row per minute and arm) turned into what a
// chart draws: one x per minute, one line per arm, gaps where an arm had no calls.

import type { ArmMinute } from './api';

export interface ArmCharts {
  /** Unix seconds, one per minute that has any row. */
  xs: number[];
  calls: Record<string, (number | null)[]>;
  errorRate: Record<string, (number | null)[]>;
  p95: Record<string, (number | null)[]>;
}

export function armCharts(series: readonly ArmMinute[], arms: readonly string[]): ArmCharts {
  const minutes = [...new Set(series.map((r) => r.minute))].sort((a, b) => a - b);
  const index = new Map(minutes.map((m, i) => [m, i]));
  const empty = () => Object.fromEntries(arms.map((a) => [a, minutes.map((): number | null => null)]));
  const out: ArmCharts = { xs: minutes.map((m) => m / 1000), calls: empty(), errorRate: empty(), p95: empty() };
  for (const r of series) {
    const i = index.get(r.minute);
    if (i === undefined || !(r.arm in out.calls)) continue;
    out.calls[r.arm][i] = r.calls;
    out.errorRate[r.arm][i] = r.calls > 0 ? (100 * r.errors) / r.calls : null;
    out.p95[r.arm][i] = r.p95_latency_ms;
  }
  return out;
}

/** The share of a step's dwell that has passed, 0..1 (1 for a step without a dwell). */
export function dwellDone(startedAt: number, dwellSecs: number, now: number): number {
  if (dwellSecs <= 0) return 1;
  return Math.min(1, Math.max(0, (now - startedAt) / (dwellSecs * 1000)));
}
