// Usage and cost: the cost report over a chosen range, grouped by department (the tree
// rolled up), app, model or deployment, narrowed to a department's subtree, with cost
// over time per group and the report as a CSV download (the server's own CSV).

import { useState } from 'preact/hooks';
import type { Api, Department, List } from '../api';
import type { CostReport, Grouping, UsageReport } from '../usageApi';
import { RangePicker, useRange } from '../RangePicker';
import { TimeChart } from '../TimeChart';
import { Head, SelectField } from '../controls';
import { count, pct, usd } from '../figures';
import { ActionError, Show, useAction, useLoad } from '../load';
import { bucketTimes, onBuckets, rangeQuery, type Range } from '../range';
import { costRows, departmentOptions } from '../grouping';
import { fileNameOf, saveBlob } from '../csv';

const GROUPINGS: { value: Grouping; label: string }[] = [
  { value: 'department', label: 'Department' },
  { value: 'app', label: 'App' },
  { value: 'model', label: 'Model' },
  { value: 'deployment', label: 'Deployment' },
];

/** Groups drawn on the chart: the costliest, so lines stay readable. */
const CHART_GROUPS = 6;

export function UsagePage({ api, can }: { api: Api; can: (p: string) => boolean }) {
  const state = useRange('7d');
  const [grouping, setGrouping] = useState<Grouping>('department');
  const [department, setDepartment] = useState('');
  const departments = useLoad(
    () => (can('department.read') ? api.get<List<Department>>('/departments?limit=500') : Promise.resolve({ items: [] })),
    [api],
  );
  const range = typeof state.range === 'string' ? undefined : state.range;
  return (
    <>
      <form class="filters" aria-label="Report" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="Group by"
          name="group_by"
          value={grouping}
          set={(v) => setGrouping(v as Grouping)}
          choices={GROUPINGS}
        />
        <SelectField
          label="Department"
          name="department"
          value={department}
          set={setDepartment}
          choices={[{ value: '', label: 'All departments' }, ...departmentOptions(departments.data?.items ?? [])]}
        />
      </form>
      <RangePicker state={state} />
      {range && <Report api={api} range={range} grouping={grouping} department={department} />}
    </>
  );
}

function Report({ api, range, grouping, department }: { api: Api; range: Range; grouping: Grouping; department: string }) {
  const query =
    `from=${range.from}&to=${range.to}&group_by=${grouping}` +
    (department ? `&department=${encodeURIComponent(department)}` : '');
  const report = useLoad(() => api.get<CostReport>(`/costs/report?${query}`), [api, query]);
  const download = useAction();
  const exportCsv = () =>
    download.run(async () => {
      const { blob, disposition } = await api.download(`/costs/report?${query}&format=csv`);
      saveBlob(blob, fileNameOf(disposition, `costs-${grouping}.csv`));
    });
  return (
    <Show loaded={report} what="cost.read">
      {(r) => {
        const rows = costRows(r.items, grouping, r.total.cost_micros);
        const label = GROUPINGS.find((g) => g.value === grouping)?.label ?? grouping;
        return (
          <>
            <p class="summary">
              Total <strong>{usd(r.total.cost_usd)}</strong> over <strong>{count(r.total.calls)}</strong> calls (
              {pct(r.total.error_rate)} errors).{' '}
              <button type="button" onClick={exportCsv} disabled={download.busy}>
                Download CSV
              </button>
            </p>
            <ActionError action={download} />
            <table>
              <caption>Cost by {label.toLowerCase()}</caption>
              <Head
                columns={[
                  label,
                  'Calls',
                  'Errors',
                  'Prompt tokens',
                  'Completion tokens',
                  'Cost',
                  ...(grouping === 'department' ? ['Own apps'] : []),
                  'Share',
                ]}
              />
              <tbody>
                {rows.map(({ item, label: name, depth, share }) => (
                  <tr key={item.key}>
                    <th scope="row" style={{ paddingLeft: `${0.6 + depth * 1.5}rem` }}>
                      {name}
                    </th>
                    <td>{count(item.total.calls)}</td>
                    <td>{count(item.total.errors)}</td>
                    <td>{count(item.total.prompt_tokens)}</td>
                    <td>{count(item.total.completion_tokens)}</td>
                    <td>{usd(item.total.cost_usd)}</td>
                    {grouping === 'department' && <td>{usd(item.own.cost_usd)}</td>}
                    <td>{pct(share)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <p>No usage in this range.</p>}
            <CostChart api={api} range={range} grouping={grouping} department={department} />
          </>
        );
      }}
    </Show>
  );
}

function CostChart({ api, range, grouping, department }: { api: Api; range: Range; grouping: Grouping; department: string }) {
  const query =
    `${rangeQuery(range)}&group_by=${grouping}` + (department ? `&department=${encodeURIComponent(department)}` : '');
  const usage = useLoad(() => api.get<UsageReport>(`/usage?${query}`), [api, query]);
  if (!usage.data) return null;
  const total = (s: UsageReport['series'][number]) => s.points.reduce((a, p) => a + p.cost_micros, 0);
  const top = [...usage.data.series].sort((a, b) => total(b) - total(a)).slice(0, CHART_GROUPS);
  return (
    <TimeChart
      title={`Spend over time by ${grouping} (USD)`}
      xs={bucketTimes(range).map((t) => t / 1000)}
      series={top.map((s) => ({
        label: s.name ?? s.group ?? 'all',
        values: onBuckets(range, s.points, (p) => p.cost_usd, 0),
      }))}
    />
  );
}
