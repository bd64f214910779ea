// Budgets: each with its spend, reservations and what is left this period and its live
// leases (the SDK instances holding a slice); with budget.write, a new budget and
// changing a budget's limit, mode and what happens past it.

import { useState } from 'preact/hooks';
import type { Api, App, Department, List } from '../api';
import type { Budget, BudgetLease } from '../usageApi';
import { Form, Head, SelectField, TextField, departmentChoices } from '../controls';
import { formatTime } from '../format';
import { usd } from '../figures';
import { Show, useAction, useLoad } from '../load';

interface Props {
  api: Api;
  can: (p: string) => boolean;
}

const MODES = [
  { value: 'hard', label: 'hard: refuse or reroute past it' },
  { value: 'soft', label: 'soft: warn past it' },
];
const DOWN = [
  { value: 'deny', label: 'deny calls' },
  { value: 'local', label: 'use the local model' },
  { value: 'allow', label: 'allow calls' },
];
const PERIODS = [
  { value: 'day', label: 'day' },
  { value: 'week', label: 'week' },
  { value: 'month', label: 'month' },
];
const SCOPES = [
  { value: 'tenant', label: 'whole tenant' },
  { value: 'department', label: 'department' },
  { value: 'app', label: 'app' },
  { value: 'model', label: 'model' },
];

export function BudgetsPage({ api, can }: Props) {
  const budgets = useLoad(async () => {
    const list = await api.get<List<Budget>>('/budgets?limit=500');
    return Promise.all(list.items.map((b) => api.get<Budget>(`/budgets/${encodeURIComponent(b.id)}`)));
  }, [api]);
  const departments = useLoad(
    () => (can('department.read') ? api.get<List<Department>>('/departments?limit=500') : Promise.resolve({ items: [] })),
    [api],
  );
  const apps = useLoad(
    () => (can('app.read') ? api.get<List<App>>('/apps?limit=500') : Promise.resolve({ items: [] })),
    [api],
  );
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const writable = can('budget.write');
  const scopeName = (b: Budget) => {
    if (b.scope === 'tenant') return 'whole tenant';
    const ref = b.scope_ref ?? '';
    const named =
      b.scope === 'department'
        ? departments.data?.items.find((d) => d.id === ref)?.name
        : b.scope === 'app'
          ? apps.data?.items.find((a) => a.id === ref)?.name
          : ref;
    return `${b.scope} ${named ?? ref}`;
  };
  const appName = (id: string) => apps.data?.items.find((a) => a.id === id)?.name ?? id;

  return (
    <Show loaded={budgets} what="budget.read">
      {(list) => (
        <>
          <table>
            <caption>Budgets and their current period</caption>
            <Head
              columns={[
                'Budget',
                'Scope',
                'Period',
                'Limit',
                'Mode',
                'Server down',
                'Spent',
                'Reserved',
                'Remaining',
                'Live leases',
                ...(writable ? [''] : []),
              ]}
            />
            <tbody>
              {list.map((b) => (
                <tr key={b.id}>
                  <th scope="row">{b.name}</th>
                  <td>{scopeName(b)}</td>
                  <td>{b.period}</td>
                  <td>{usd(b.amount_usd)}</td>
                  <td>{b.mode}{b.reroute_to ? ` → ${b.reroute_to}` : ''}</td>
                  <td>{b.on_server_down}</td>
                  <td>{usd(b.state?.spent_usd ?? 0)}</td>
                  <td>{usd(b.state?.reserved_usd ?? 0)}</td>
                  <td>{usd(b.state?.remaining_usd ?? 0)}</td>
                  <td>{b.state?.live_leases ?? 0}</td>
                  {writable && (
                    <td>
                      <button type="button" onClick={() => setEditing(b.id)} aria-label={`Edit budget ${b.name}`}>
                        Edit
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {list.length === 0 && <p>No budgets yet.</p>}
          {writable &&
            list
              .filter((b) => b.id === editing)
              .map((b) => (
                <EditBudget
                  key={b.id}
                  api={api}
                  budget={b}
                  onDone={() => {
                    setEditing(undefined);
                    budgets.reload();
                  }}
                />
              ))}
          {list
            .filter((b) => (b.state?.live_leases ?? 0) > 0)
            .map((b) => (
              <Leases key={b.id} api={api} budget={b} appName={appName} />
            ))}
          {writable && (
            <NewBudget
              api={api}
              departments={departments.data?.items ?? []}
              apps={apps.data?.items ?? []}
              onCreated={budgets.reload}
            />
          )}
        </>
      )}
    </Show>
  );
}

function NumberField({ label, name, value, set }: { label: string; name: string; value: string; set: (v: string) => void }) {
  return (
    <label>
      {label}
      <input type="number" name={name} min="0" step="0.01" value={value} onInput={(e) => set(e.currentTarget.value)} required />
    </label>
  );
}

function EditBudget({ api, budget, onDone }: { api: Api; budget: Budget; onDone: () => void }) {
  const [amount, setAmount] = useState(String(budget.amount_usd));
  const [mode, setMode] = useState<string>(budget.mode);
  const [reroute, setReroute] = useState(budget.reroute_to ?? '');
  const [down, setDown] = useState<string>(budget.on_server_down);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = {
      amount_usd: Number(amount),
      mode,
      reroute_to: mode === 'hard' && reroute.trim() ? reroute.trim() : null,
      on_server_down: down,
    };
    if (await action.run(() => api.patch(`/budgets/${encodeURIComponent(budget.id)}`, body))) onDone();
  };
  return (
    <Form label={`Edit budget ${budget.name}`} submit="Save budget" action={action} onSubmit={submit}>
      <NumberField label="Limit (USD)" name="amount" value={amount} set={setAmount} />
      <SelectField label="Mode" name="mode" value={mode} set={setMode} choices={MODES} />
      <TextField label="Reroute to model (hard only)" name="reroute" value={reroute} set={setReroute} />
      <SelectField label="When the server is down" name="down" value={down} set={setDown} choices={DOWN} />
    </Form>
  );
}

function NewBudget({
  api,
  departments,
  apps,
  onCreated,
}: {
  api: Api;
  departments: Department[];
  apps: App[];
  onCreated: () => void;
}) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState('tenant');
  const [ref, setRef] = useState('');
  const [period, setPeriod] = useState('month');
  const [amount, setAmount] = useState('');
  const [mode, setMode] = useState('hard');
  const action = useAction();
  const refChoices =
    scope === 'department' ? departmentChoices(departments) : scope === 'app' ? apps.map((a) => ({ value: a.id, label: a.name })) : [];
  const submit = async (e: Event) => {
    e.preventDefault();
    const scopeRef = scope === 'tenant' ? null : scope === 'model' ? ref.trim() : ref || refChoices[0]?.value || null;
    const ok = await action.run(() =>
      api.post('/budgets', { name, scope, scope_ref: scopeRef, period, amount_usd: Number(amount), mode }),
    );
    if (ok) {
      setName('');
      setAmount('');
      onCreated();
    }
  };
  return (
    <Form label="New budget" submit="Create budget" action={action} onSubmit={submit}>
      <TextField label="Name" name="budget-name" value={name} set={setName} required />
      <SelectField
        label="Scope"
        name="scope"
        value={scope}
        set={(v) => {
          setScope(v);
          setRef('');
        }}
        choices={SCOPES}
      />
      {scope === 'model' && <TextField label="Model" name="scope-model" value={ref} set={setRef} required />}
      {(scope === 'department' || scope === 'app') && (
        <SelectField
          label={scope === 'app' ? 'App' : 'Department'}
          name="scope-ref"
          value={ref || refChoices[0]?.value || ''}
          set={setRef}
          choices={refChoices}
        />
      )}
      <SelectField label="Period" name="period" value={period} set={setPeriod} choices={PERIODS} />
      <NumberField label="Limit (USD)" name="new-amount" value={amount} set={setAmount} />
      <SelectField label="Mode" name="new-mode" value={mode} set={setMode} choices={MODES} />
    </Form>
  );
}

function Leases({ api, budget, appName }: { api: Api; budget: Budget; appName: (id: string) => string }) {
  const leases = useLoad(
    () => api.get<{ items: BudgetLease[] }>(`/budgets/${encodeURIComponent(budget.id)}/leases`),
    [api, budget.id, budget.updated_at],
  );
  return (
    <section aria-labelledby={`leases-${budget.id}`}>
      <h2 id={`leases-${budget.id}`}>Live leases of {budget.name}</h2>
      <Show loaded={leases} what="budget.read">
        {(l) => (
          <table>
            <caption class="sr-only">Live leases of {budget.name}</caption>
            <Head columns={['Instance', 'App', 'Granted', 'Used', 'Ingested', 'Since', 'Expires']} />
            <tbody>
              {l.items.map((x) => (
                <tr key={x.lease_id}>
                  <th scope="row">{x.instance}</th>
                  <td>{appName(x.app_id)}</td>
                  <td>{usd(x.granted_usd)}</td>
                  <td>{usd(x.used_usd)}</td>
                  <td>{usd(x.ingested_usd)}</td>
                  <td>{formatTime(x.created_at)}</td>
                  <td>{formatTime(x.expires_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </section>
  );
}
