import { describe, expect, it } from 'vitest';
import { armCharts, dwellDone } from './arms';

const row = (minute: number, arm: string, calls: number, errors: number, p95: number | null = 100) => ({
  minute,
  arm,
  calls,
  errors,
  cost_usd: 0,
  p95_latency_ms: p95,
});

describe('armCharts', () => {
  it('lines the arms up by minute with gaps where an arm had nothing', () => {
    const c = armCharts([row(120_000, 'v2', 4, 1), row(60_000, 'v1', 10, 0), row(120_000, 'v1', 5, 5, null)], ['v1', 'v2']);
    expect(c.xs).toEqual([60, 120]);
    expect(c.calls).toEqual({ v1: [10, 5], v2: [null, 4] });
    expect(c.errorRate).toEqual({ v1: [0, 100], v2: [null, 25] });
    expect(c.p95).toEqual({ v1: [100, null], v2: [null, 100] });
  });
  it('ignores arms not asked for', () => {
    expect(armCharts([row(0, 'other', 1, 0)], ['v1']).calls).toEqual({ v1: [null] });
  });
});

describe('dwellDone', () => {
  it('is the share of the dwell passed, capped', () => {
    expect(dwellDone(0, 10, 5_000)).toBe(0.5);
    expect(dwellDone(0, 10, 50_000)).toBe(1);
    expect(dwellDone(1000, 10, 0)).toBe(0);
    expect(dwellDone(0, 0, 0)).toBe(1);
  });
});
