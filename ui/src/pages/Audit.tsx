// The audit log, newest first, filtered by action, actor and time range; and verifying
// the chain (POST /audit/verify), which tells this tenant only about its own records.

import { useState } from 'preact/hooks';
import type { Api, AuditRecord, AuditVerification, List } from '../api';
import { NO_FILTERS, auditQuery, describeFilters, type AuditFilters } from '../auditQuery';
import { formatTime } from '../format';
import { Head, TextField } from '../controls';
import { ActionError, Show, useAction, useLoad } from '../load';

export function AuditPage({ api }: { api: Api }) {
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<AuditFilters>(NO_FILTERS);
  const query = auditQuery(applied);
  // The caption travels with the records it describes, never ahead of them.
  const described = describeFilters(applied);
  const records = useLoad(
    async () => ({ described, items: (await api.get<List<AuditRecord>>(`/audit?limit=200${query}`)).items }),
    [api, query],
  );
  const set = (k: keyof AuditFilters) => (v: string) => setFilters({ ...filters, [k]: v });

  return (
    <>
      <Verify api={api} reload={records.reload} />
      <form
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        <TextField label="Action" name="action" value={filters.action} set={set('action')} placeholder="e.g. config.activate" />
        <TextField label="Actor" name="actor" value={filters.actor} set={set('actor')} placeholder="as recorded" />
        <label>
          From (UTC)
          <input type="datetime-local" name="from" value={filters.from} onInput={(e) => set('from')(e.currentTarget.value)} />
        </label>
        <label>
          Before (UTC)
          <input type="datetime-local" name="to" value={filters.to} onInput={(e) => set('to')(e.currentTarget.value)} />
        </label>
        <button type="submit">Filter</button>
        <button
          type="button"
          onClick={() => {
            setFilters(NO_FILTERS);
            setApplied(NO_FILTERS);
          }}
        >
          Clear
        </button>
      </form>
      <Show loaded={records} what="audit.read">
        {(list) => (
          <table>
            <caption>Audit records{list.described ? ` ${list.described}` : ''}</caption>
            <Head columns={['#', 'At', 'Actor', 'Role', 'Action', 'Target', 'Source']} />
            <tbody>
              {list.items.map((r) => (
                <tr key={r.seq}>
                  <td>{r.seq}</td>
                  <td>{formatTime(r.at)}</td>
                  <td>{r.actor}</td>
                  <td>{r.role}</td>
                  <td>{r.action}</td>
                  <td><code>{r.target}</code></td>
                  <td>{r.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </>
  );
}

function Verify({ api, reload }: { api: Api; reload: () => void }) {
  const [result, setResult] = useState<AuditVerification | undefined>(undefined);
  const action = useAction();
  return (
    <div class="verify">
      <button
        type="button"
        disabled={action.busy}
        onClick={() =>
          void action.run(async () => {
            setResult(await api.post<AuditVerification>('/audit/verify'));
            reload();
          })
        }
      >
        Verify chain
      </button>
      <ActionError action={action} />
      {result && (
        <p role="status" class={result.intact ? 'ok' : 'error'}>
          <strong>{result.intact ? 'Intact.' : 'Broken.'}</strong> {result.message}
          {result.broken_seq !== null ? ` (record #${result.broken_seq})` : ''}
        </p>
      )}
    </div>
  );
}
