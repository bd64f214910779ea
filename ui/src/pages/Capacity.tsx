// Capacity: each deployment's load now and at its busiest minute of the last day, and per
// model and deployment the calls per hour the forecast was fitted on followed by the 7-day
// forecast, with the replicas recommended for self-hosted deployments.

import type { Api } from '../api';
import type { CapacityRow, DeploymentHealth } from '../usageApi';
import { TimeChart } from '../TimeChart';
import { Head } from '../controls';
import { formatTime } from '../format';
import { ms, pct } from '../figures';
import { Show, useLoad } from '../load';
import { historyAndForecast } from '../forecastSeries';

const fixed = (v: number, digits = 1) => v.toFixed(digits);
const orDash = (v: number | null | undefined) => (v === null || v === undefined ? '–' : String(v));

export function CapacityPage({ api }: { api: Api }) {
  const health = useLoad(() => api.get<DeploymentHealth[]>('/health/deployments'), [api]);
  const report = useLoad(() => api.get<CapacityRow[]>('/capacity/report'), [api]);
  return (
    <>
      <Show loaded={health} what="health.read">
        {(rows) => (
          <>
            <table>
              <caption>Deployment health (last 5 minutes; peak: busiest minute of the last day)</caption>
              <Head
                columns={['Deployment', 'Requests/min', 'Tokens/min', 'In flight', 'Error rate', 'p95', 'Peak requests/min', 'Peak at']}
              />
              <tbody>
                {rows.map((h) => (
                  <tr key={h.deployment}>
                    <th scope="row">{h.deployment}</th>
                    <td>{fixed(h.now.requests_per_minute)}</td>
                    <td>{fixed(h.now.tokens_per_minute, 0)}</td>
                    <td>{fixed(h.now.concurrency, 2)}</td>
                    <td>{pct(h.now.error_rate)}</td>
                    <td>{ms(h.now.p95_ms)}</td>
                    <td>{fixed(h.peak.requests_per_minute)}</td>
                    <td>{formatTime(h.peak_minute)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <p>No deployment had calls in the last day.</p>}
          </>
        )}
      </Show>
      <Show loaded={report} what="health.read">
        {(rows) => (
          <>
            <table>
              <caption>Forecast and recommended replicas</caption>
              <Head
                columns={[
                  'Model',
                  'Deployment',
                  'Forecast peak (calls/h)',
                  'Backtest error',
                  'Per-replica rpm',
                  'Replicas now',
                  'Replicas at peak',
                ]}
              />
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.model}/${r.deployment}`}>
                    <td>{r.model}</td>
                    <th scope="row">{r.deployment}</th>
                    <td>{r.forecast ? fixed(r.forecast.peak) : 'not enough history'}</td>
                    <td>{r.forecast?.backtest_wape != null ? pct(r.forecast.backtest_wape) : '–'}</td>
                    <td>{orDash(r.per_replica_rpm)}</td>
                    <td>{orDash(r.replicas_now)}</td>
                    <td>{orDash(r.replicas_at_peak)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <p>No usage to forecast from yet.</p>}
            <div class="charts">
              {rows.map((r) => {
                const { xs, series } = historyAndForecast(r);
                return (
                  <TimeChart
                    key={`${r.model}/${r.deployment}`}
                    title={`Calls per hour: ${r.model} on ${r.deployment}`}
                    xs={xs}
                    series={series}
                  />
                );
              })}
            </div>
          </>
        )}
      </Show>
    </>
  );
}
