// The overview: spend today and this month against the budgets, then calls, p50/p95
// latency, error rate, cache hit rate and local-model share over a chosen range, as
// figures and as charts (all from GET /api/v1/usage; budgets with budget.read).

import type { Api, List } from '../api';
import type { Budget, UsagePoint, UsageReport } from '../usageApi';
import { RangePicker, useRange } from '../RangePicker';
import { TimeChart } from '../TimeChart';
import { Head } from '../controls';
import { formatTime } from '../format';
import { count, ms, pct, shareOf, usd } from '../figures';
import { Show, useLoad } from '../load';
import { bucketTimes, dayStart, monthStart, onBuckets, rangeQuery, wholeQuery, type Range } from '../range';

interface Props {
  api: Api;
  can: (p: string) => boolean;
}

/** The one bucket of a report asked for with a whole-range step, if it has calls. */
function only(r: UsageReport): UsagePoint | undefined {
  return r.series[0]?.points[0];
}

export function OverviewPage({ api, can }: Props) {
  const state = useRange('7d');
  const range = typeof state.range === 'string' ? undefined : state.range;
  const now = Date.now();
  const spend = useLoad(async () => {
    const [today, month] = await Promise.all([
      api.get<UsageReport>(`/usage?${wholeQuery(dayStart(now), now + 1)}`),
      api.get<UsageReport>(`/usage?${wholeQuery(monthStart(now), now + 1)}`),
    ]);
    return { today: only(today)?.cost_usd ?? 0, month: only(month)?.cost_usd ?? 0 };
  }, [api]);
  const budgets = useLoad(async () => {
    if (!can('budget.read')) return [];
    const list = await api.get<List<Budget>>('/budgets?limit=500');
    return Promise.all(list.items.map((b) => api.get<Budget>(`/budgets/${encodeURIComponent(b.id)}`)));
  }, [api]);

  return (
    <>
      <Show loaded={spend} what="usage.read">
        {(s) => (
          <section aria-labelledby="spend">
            <h2 id="spend">Spend</h2>
            <dl class="tiles">
              <Tile label="Spend today" value={usd(s.today)} note={against(budgets.data, 'day')} />
              <Tile label="Spend this month" value={usd(s.month)} note={against(budgets.data, 'month')} />
            </dl>
            {budgets.data && budgets.data.length > 0 && <BudgetTable budgets={budgets.data} />}
          </section>
        )}
      </Show>
      <RangePicker state={state} />
      {range && <RangeFigures api={api} range={range} />}
    </>
  );
}

/** "of $50.00 (name)": the tenant-wide budget of that period, if there is one. */
function against(budgets: Budget[] | undefined, period: Budget['period']): string | undefined {
  const b = budgets?.find((x) => x.scope === 'tenant' && x.period === period);
  return b ? `of ${usd(b.amount_usd)} budget “${b.name}”` : undefined;
}

function Tile({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div class="tile">
      <dt>{label}</dt>
      <dd>
        <span class="figure">{value}</span>
        {note && <span class="note">{note}</span>}
      </dd>
    </div>
  );
}

function BudgetTable({ budgets }: { budgets: Budget[] }) {
  return (
    <table>
      <caption>Budgets this period</caption>
      <Head columns={['Budget', 'Period', 'Spent', 'Reserved', 'Limit', 'Used']} />
      <tbody>
        {budgets.map((b) => {
          const used = shareOf((b.state?.spent_usd ?? 0) + (b.state?.reserved_usd ?? 0), b.amount_usd);
          return (
            <tr key={b.id}>
              <td>{b.name}</td>
              <td>{b.period}</td>
              <td>{usd(b.state?.spent_usd ?? 0)}</td>
              <td>{usd(b.state?.reserved_usd ?? 0)}</td>
              <td>{usd(b.amount_usd)}</td>
              <td>
                <meter min={0} max={1} high={0.8} value={Math.min(used, 1)} aria-label={`${b.name} used`} /> {pct(used)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function RangeFigures({ api, range }: { api: Api; range: Range }) {
  const key = `${range.from}/${range.to}/${range.stepMs}`;
  const data = useLoad(async () => {
    const [series, whole] = await Promise.all([
      api.get<UsageReport>(`/usage?${rangeQuery(range)}`),
      api.get<UsageReport>(`/usage?${wholeQuery(range.from, range.to)}`),
    ]);
    return { points: series.series[0]?.points ?? [], total: only(whole) };
  }, [api, key]);
  return (
    <Show loaded={data} what="usage.read">
      {({ points, total }) => {
        const xs = bucketTimes(range).map((t) => t / 1000);
        const counts = (f: (p: UsagePoint) => number) => onBuckets(range, points, f, 0);
        const values = (f: (p: UsagePoint) => number | null) => onBuckets(range, points, f, null);
        return (
          <section aria-labelledby="range-figures">
            <h2 id="range-figures">
              {formatTime(range.from)} to {formatTime(range.to)}
            </h2>
            <dl class="tiles">
              <Tile label="Calls" value={count(total?.calls ?? 0)} />
              <Tile label="Spend" value={usd(total?.cost_usd ?? 0)} />
              <Tile label="p50 latency" value={ms(total?.latency_ms_p50)} />
              <Tile label="p95 latency" value={ms(total?.latency_ms_p95)} />
              <Tile label="Error rate" value={pct(total?.error_rate ?? 0)} />
              <Tile label="Cache hit rate" value={pct(total?.cache_hit_rate ?? 0)} />
              <Tile label="Local-model share" value={pct(total?.local_share ?? 0)} />
            </dl>
            <div class="charts">
              <TimeChart
                title="Calls and errors"
                xs={xs}
                series={[
                  { label: 'Calls', values: counts((p) => p.calls) },
                  { label: 'Errors', values: counts((p) => p.errors) },
                ]}
              />
              <TimeChart title="Spend (USD)" xs={xs} series={[{ label: 'USD', values: counts((p) => p.cost_usd) }]} />
              <TimeChart
                title="Latency (ms)"
                xs={xs}
                series={[
                  { label: 'p50', values: values((p) => p.latency_ms_p50) },
                  { label: 'p95', values: values((p) => p.latency_ms_p95) },
                ]}
              />
              <TimeChart
                title="Error, cache hit and local-model rates (%)"
                xs={xs}
                series={[
                  { label: 'Errors', values: values((p) => p.error_rate * 100) },
                  { label: 'Cache hits', values: values((p) => p.cache_hit_rate * 100) },
                  { label: 'Local model', values: values((p) => p.local_share * 100) },
                ]}
              />
            </div>
            <details>
              <summary>Figures per bucket</summary>
              <table>
                <caption>Usage per bucket</caption>
                <Head columns={['From', 'Calls', 'Errors', 'Spend', 'p50', 'p95', 'Cache hits', 'Local']} />
                <tbody>
                  {points.map((p) => (
                    <tr key={p.time}>
                      <td>{formatTime(p.time)}</td>
                      <td>{count(p.calls)}</td>
                      <td>{count(p.errors)}</td>
                      <td>{usd(p.cost_usd)}</td>
                      <td>{ms(p.latency_ms_p50)}</td>
                      <td>{ms(p.latency_ms_p95)}</td>
                      <td>{pct(p.cache_hit_rate)}</td>
                      <td>{pct(p.local_share)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </section>
        );
      }}
    </Show>
  );
}
