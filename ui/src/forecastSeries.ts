// A capacity row as one chart: the hourly history, then the forecast's hours after it,
// each a line of its own (null where the other one is).

import type { Series } from './TimeChart';
import type { CapacityRow } from './usageApi';

const HOUR = 3_600_000;

export function historyAndForecast(row: CapacityRow): { xs: number[]; series: Series[] } {
  const past = row.history.length;
  const ahead = row.forecast?.hourly ?? [];
  const xs = Array.from({ length: past + ahead.length }, (_, i) => (row.history_from + i * HOUR) / 1000);
  const history = [...row.history, ...ahead.map(() => null)];
  const forecast = [...row.history.map(() => null), ...ahead];
  const series: Series[] = [{ label: 'Calls per hour', values: history }];
  if (ahead.length > 0) series.push({ label: 'Forecast', values: forecast });
  return { xs, series };
}
