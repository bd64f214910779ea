import { describe, expect, it } from 'vitest';
import { costRows, departmentOptions, lastSegment } from './grouping';
import { fileNameOf } from './csv';
import { ms, pct, shareOf, usd } from './figures';
import { historyAndForecast } from './forecastSeries';
import type { Figures, ReportItem } from './usageApi';

function figures(calls: number, micros: number): Figures {
  return {
    calls,
    errors: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    cached_tokens: 0,
    cost_usd: micros / 1e6,
    cost_micros: micros,
    error_rate: 0,
    cache_hit_rate: 0,
    local_share: 0,
    latency_ms_avg: null,
    latency_ms_p50: null,
    latency_ms_p95: null,
    latency_ms_p99: null,
  };
}

const item = (key: string, name: string, parent: string | null, own: number, total: number): ReportItem => ({
  key,
  name,
  parent_id: parent,
  own: figures(1, own),
  total: figures(1, total),
});

describe('costRows', () => {
  it('shows departments as their tree with subtree shares', () => {
    const items = [
      item('r', 'root', null, 100, 1000),
      item('s', 'root / sales', 'r', 300, 300),
      item('e', 'root / eng', 'r', 200, 600),
      item('m', 'root / eng / ml', 'e', 400, 400),
    ];
    const rows = costRows(items, 'department', 1000);
    expect(rows.map((r) => [r.label, r.depth, r.share])).toEqual([
      ['root', 0, 1],
      ['eng', 1, 0.6],
      ['ml', 2, 0.4],
      ['sales', 1, 0.3],
    ]);
  });
  it('orders other groupings by cost, largest first, and survives a zero total', () => {
    const items = [item('a', 'a', null, 1, 1), item('b', 'b', null, 5, 5), item('c', 'c', null, 5, 5)];
    expect(costRows(items, 'model', 11).map((r) => r.label)).toEqual(['b', 'c', 'a']);
    expect(costRows(items, 'model', 0).every((r) => r.share === 0)).toBe(true);
  });
  it('indents department choices by depth', () => {
    const opts = departmentOptions([
      { id: 'r', parent_id: null, name: 'root', created_at: 0 },
      { id: 'e', parent_id: 'r', name: 'eng', created_at: 0 },
    ]);
    expect(opts).toEqual([
      { value: 'r', label: 'root' },
      { value: 'e', label: '\u00a0\u00a0eng' },
    ]);
    expect(lastSegment('root / eng / ml')).toBe('ml');
  });
});

describe('figures', () => {
  it('prints dollars, shares and milliseconds', () => {
    expect(usd(1234.5)).toBe('$1,234.50');
    expect(usd(0)).toBe('$0.00');
    expect(usd(0.0042)).toBe('$0.0042');
    expect(pct(0.1234)).toBe('12.3%');
    expect(ms(null)).toBe('–');
    expect(ms(1234.4)).toBe('1,234 ms');
    expect(shareOf(1, 0)).toBe(0);
    expect(shareOf(1, 4)).toBe(0.25);
  });
});

describe('fileNameOf', () => {
  it('reads the server-given name, quoted or not', () => {
    expect(fileNameOf('attachment; filename="costs-app-1-2.csv"', 'x.csv')).toBe('costs-app-1-2.csv');
    expect(fileNameOf('attachment; filename=plain.csv', 'x.csv')).toBe('plain.csv');
    expect(fileNameOf('attachment; filename="a \\"b\\".csv"', 'x.csv')).toBe('a "b".csv');
    expect(fileNameOf(null, 'x.csv')).toBe('x.csv');
  });
});

describe('historyAndForecast', () => {
  it('puts the forecast right after the history, each on its own line', () => {
    const { xs, series } = historyAndForecast({
      model: 'chat',
      deployment: 'd',
      history_from: 3_600_000,
      history: [1, 2],
      forecast: { hourly: [3, 4, 5], peak: 5, backtest_wape: null },
      per_replica_rpm: null,
      replicas_now: null,
      replicas_at_peak: null,
    });
    expect(xs).toEqual([3600, 7200, 10800, 14400, 18000]);
    expect(series[0].values).toEqual([1, 2, null, null, null]);
    expect(series[1].values).toEqual([null, null, 3, 4, 5]);
    const bare = historyAndForecast({
      model: 'chat',
      deployment: 'd',
      history_from: 0,
      history: [1],
      forecast: null,
      per_replica_rpm: null,
      replicas_now: null,
      replicas_at_peak: null,
    });
    expect(bare.series).toHaveLength(1);
  });
});
