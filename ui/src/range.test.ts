import { describe, expect, it } from 'vitest';
import { DAY, bucketTimes, dayStart, monthStart, onBuckets, parseDay, rangeOf, stepFor, stepText, wholeQuery } from './range';

const HOUR = 3_600_000;
// 2026-12-07T11:40:00Z
const NOW = Date.UTC(2026, 11, 7, 11, 40);

describe('rangeOf', () => {
  it('ends a preset at the next whole step, one bucket per step', () => {
    const r = rangeOf('24h', NOW);
    expect(r).toEqual({ from: Date.UTC(2026, 11, 6, 12), to: Date.UTC(2026, 11, 7, 12), stepMs: HOUR });
    const week = rangeOf('7d', NOW);
    if (typeof week === 'string') throw new Error(week);
    expect(week.stepMs).toBe(6 * HOUR);
    expect(week.to - week.from).toBe(7 * DAY);
    expect(week.to % week.stepMs).toBe(0);
    expect(bucketTimes(week)).toHaveLength(28);
    const month = rangeOf('30d', NOW);
    if (typeof month === 'string') throw new Error(month);
    expect(month.stepMs).toBe(DAY);
    expect(bucketTimes(month)).toHaveLength(30);
  });
  it('takes chosen days, both included, and says what is wrong', () => {
    expect(rangeOf('custom', NOW, '2026-11-01', '2026-11-30')).toEqual({
      from: Date.UTC(2026, 10, 1),
      to: Date.UTC(2026, 11, 1),
      stepMs: DAY,
    });
    expect(rangeOf('custom', NOW, '2026-11-05', '2026-11-05')).toEqual({
      from: Date.UTC(2026, 10, 5),
      to: Date.UTC(2026, 10, 6),
      stepMs: HOUR,
    });
    expect(rangeOf('custom', NOW, '2026-11-31', '2026-12-01')).toMatch(/From/);
    expect(rangeOf('custom', NOW, '2026-11-02', 'soon')).toMatch(/To must be a date/);
    expect(rangeOf('custom', NOW, '2026-11-02', '2026-11-01')).toMatch(/not be before/);
  });
});

describe('steps', () => {
  it('picks the smallest step with at most 40 buckets, whole days past the ladder', () => {
    expect(stepFor(DAY)).toBe(HOUR);
    expect(stepFor(7 * DAY)).toBe(6 * HOUR);
    expect(stepFor(30 * DAY)).toBe(DAY);
    expect(stepFor(365 * DAY)).toBe(10 * DAY);
  });
  it('writes steps as the API reads them', () => {
    expect(stepText(DAY)).toBe('1d');
    expect(stepText(6 * HOUR)).toBe('6h');
    expect(stepText(15 * 60_000)).toBe('15m');
    expect(wholeQuery(0, 90_001)).toBe('from=0&to=90001&step=2m');
  });
});

describe('onBuckets', () => {
  it('lays points on every bucket, a missing one as given', () => {
    const r = { from: 0, to: 4 * HOUR, stepMs: HOUR };
    const points = [
      { time: HOUR, calls: 3 },
      { time: 3 * HOUR, calls: 5 },
    ];
    expect(onBuckets(r, points, (p) => p.calls, 0)).toEqual([0, 3, 0, 5]);
    expect(onBuckets(r, points, (p) => p.calls, null)).toEqual([null, 3, null, 5]);
  });
});

describe('days', () => {
  it('parses only real dates and finds the day and month of an instant', () => {
    expect(parseDay('2026-02-29')).toBeUndefined();
    expect(parseDay('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
    expect(dayStart(NOW)).toBe(Date.UTC(2026, 11, 7));
    expect(monthStart(NOW)).toBe(Date.UTC(2026, 11, 1));
  });
});
