// The audit log, newest first, filtered by action.

import { useState } from 'preact/hooks';
import type { Api, AuditRecord, List } from '../api';
import { formatTime } from '../format';
import { Head, TextField } from '../controls';
import { Show, useLoad } from '../load';

export function AuditPage({ api }: { api: Api }) {
  const [action, setAction] = useState('');
  const [applied, setApplied] = useState('');
  const query = applied ? `&action=${encodeURIComponent(applied)}` : '';
  const records = useLoad(() => api.get<List<AuditRecord>>(`/audit?limit=200${query}`), [api, query]);

  return (
    <>
      <form
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(action.trim());
        }}
      >
        <TextField label="Action" name="action" value={action} set={setAction} placeholder="e.g. config.activate" />
        <button type="submit">Filter</button>
      </form>
      <Show loaded={records} what="audit.read">
        {(list) => (
          <table>
            <caption>Audit records{applied ? ` for ${applied}` : ''}</caption>
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
