// Rollouts (docs/rollouts.md): the list, and one rollout's steps with the current one's
// progress, its arms' figures as charts and a table, and pause / resume / promote / abort
// for config.activate.

import type { AbReport, Api, ArmStats, List, Rollout } from '../api';
import { armCharts, dwellDone } from '../arms';
import { Head } from '../controls';
import { formatTime } from '../format';
import { ActionError, Show, useAction, useLoad } from '../load';
import { hrefOf } from '../nav';
import { TimeChart } from '../TimeChart';

interface Props {
  api: Api;
  can: (p: string) => boolean;
  selected: string | undefined;
  go: (to: string) => void;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function RolloutsPage({ api, can, selected, go }: Props) {
  const list = useLoad(() => api.get<List<Rollout>>('/rollouts?limit=200'), [api]);
  return (
    <>
      <Show loaded={list} what="config.read">
        {({ items }) =>
          items.length === 0 ? (
            <p>No rollouts yet. One starts with <code>POST /api/v1/rollouts</code> (docs/rollouts.md).</p>
          ) : (
            <table>
              <caption>Rollouts, newest first</caption>
              <Head columns={['Name', 'Model', 'Baseline → candidate', 'State', 'Step', 'Candidate share', 'Updated']} />
              <tbody>
                {items.map((r) => (
                  <tr key={r.id} aria-current={selected === r.id ? 'true' : undefined}>
                    <td>
                      <a
                        href={hrefOf('rollouts', r.id)}
                        onClick={(e) => {
                          e.preventDefault();
                          go(hrefOf('rollouts', r.id));
                        }}
                      >
                        {r.name}
                      </a>
                    </td>
                    <td>{r.model}</td>
                    <td>
                      {r.baseline} → {r.candidate}
                    </td>
                    <td>{r.state}</td>
                    <td>
                      {Math.min(r.step + 1, r.steps.length)} of {r.steps.length}
                    </td>
                    <td>{share(r)}%</td>
                    <td>{formatTime(r.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      {selected && <One api={api} can={can} id={selected} reloadList={list.reload} />}
    </>
  );
}

/** The candidate's share now, as the server counts it (`Rollout::percent`). */
function share(r: Rollout): number {
  if (r.state === 'completed') return 100;
  if (r.state === 'rolled_back') return 0;
  return r.steps[r.step]?.percent ?? 0;
}

function One({ api, can, id, reloadList }: { api: Api; can: (p: string) => boolean; id: string; reloadList: () => void }) {
  const loaded = useLoad(async () => {
    const [rollout, report] = await Promise.all([
      api.get<Rollout>(`/rollouts/${encodeURIComponent(id)}`),
      api.get<AbReport>(`/rollouts/${encodeURIComponent(id)}/report`),
    ]);
    return { rollout, report };
  }, [api, id]);
  const action = useAction();
  const act = (verb: string) =>
    action.run(async () => {
      await api.post(`/rollouts/${encodeURIComponent(id)}/${verb}`);
      loaded.reload();
      reloadList();
    });

  return (
    <Show loaded={loaded} what="config.read">
      {({ rollout: r, report }) => {
        const live = r.state === 'running' || r.state === 'paused';
        const charts = armCharts(report.series, [r.baseline, r.candidate]);
        const lines = (by: Record<string, (number | null)[]>) => [
          { label: `${r.baseline} (baseline)`, values: by[r.baseline] },
          { label: `${r.candidate} (candidate)`, values: by[r.candidate] },
        ];
        return (
          <section aria-labelledby="rollout-title">
            <h2 id="rollout-title">Rollout {r.name}</h2>
            <p>
              <strong>{r.state}</strong> · model <code>{r.model}</code> · sticky by {r.sticky_by} · candidate at{' '}
              {share(r)}% · started by {r.created_by} {formatTime(r.created_at)}
            </p>
            <p>Last move: {r.reason || '—'}</p>
            {can('config.activate') && live && (
              <div class="actions" role="group" aria-label="Move the rollout">
                {r.state === 'running' ? (
                  <button type="button" disabled={action.busy} onClick={() => act('pause')}>Pause</button>
                ) : (
                  <button type="button" disabled={action.busy} onClick={() => act('resume')}>Resume</button>
                )}
                <button type="button" disabled={action.busy} onClick={() => act('promote')}>Promote to 100%</button>
                <button type="button" disabled={action.busy} onClick={() => act('abort')}>Abort</button>
                <ActionError action={action} />
              </div>
            )}
            <Steps r={r} />
            <table>
              <caption>Arms since the rollout began</caption>
              <Head columns={['Arm', 'Calls', 'Errors', 'Error rate', 'p50 ms', 'p95 ms', 'p99 ms', 'Cost per call (USD)']} />
              <tbody>
                <Arm label="baseline" s={report.baseline} />
                <Arm label="candidate" s={report.candidate} />
              </tbody>
            </table>
            <p>
              Error rate test:{' '}
              {report.error_rate_test ? `z ${report.error_rate_test.z.toFixed(2)}, p ${report.error_rate_test.p_value.toFixed(3)}` : 'not enough data'}
              {' · '}Latency test:{' '}
              {report.latency_test ? `z ${report.latency_test.z.toFixed(2)}, p ${report.latency_test.p_value.toFixed(3)}` : 'not enough data'}
            </p>
            {charts.xs.length === 0 ? (
              <p>No calls on either arm yet: the charts fill in as usage arrives.</p>
            ) : (
              <div class="charts">
                <TimeChart title="Calls per minute by arm" xs={charts.xs} series={lines(charts.calls)} />
                <TimeChart title="Error rate (%) per minute by arm" xs={charts.xs} series={lines(charts.errorRate)} />
                <TimeChart title="p95 latency (ms) per minute by arm" xs={charts.xs} series={lines(charts.p95)} />
              </div>
            )}
          </section>
        );
      }}
    </Show>
  );
}

function Steps({ r }: { r: Rollout }) {
  const now = Date.now();
  return (
    <ol class="steps" aria-label="Steps">
      {r.steps.map((s, i) => {
        const done = r.state === 'completed' || i < r.step;
        const current = i === r.step && (r.state === 'running' || r.state === 'paused');
        const progress = done ? 1 : current ? dwellDone(r.step_started_at, s.dwell_secs, now) : 0;
        const label = `Step ${i + 1}: ${s.percent}%`;
        return (
          <li key={i} aria-current={current ? 'step' : undefined}>
            <span>
              {label}
              {s.dwell_secs ? `, hold ${s.dwell_secs} s` : ''}
              {s.min_samples ? `, ${s.min_samples} candidate calls` : ''}
              {' — '}
              {done ? 'done' : current ? `${r.state}, ${Math.round(progress * 100)}% of the hold` : 'pending'}
            </span>
            <progress max={1} value={progress} aria-label={`${label} progress`} />
          </li>
        );
      })}
    </ol>
  );
}

function Arm({ label, s }: { label: string; s: ArmStats }) {
  return (
    <tr>
      <th scope="row">
        {s.arm} ({label})
      </th>
      <td>{s.calls}</td>
      <td>{s.errors}</td>
      <td>{pct(s.error_rate)}</td>
      <td>{s.p50_latency_ms.toFixed(0)}</td>
      <td>{s.p95_latency_ms.toFixed(0)}</td>
      <td>{s.p99_latency_ms.toFixed(0)}</td>
      <td>{s.cost_per_call_usd.toFixed(6)}</td>
    </tr>
  );
}
