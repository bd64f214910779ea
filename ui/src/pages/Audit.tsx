// The audit log, newest first, filtered by action.

import { useState } from 'preact/hooks';
import type { Api, AuditRecord, List } from '../api';
import { formatTime } from '../format';
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
        <label>
          Action
          <input name="action" value={action} placeholder="e.g. config.activate" onInput={(e) => setAction(e.currentTarget.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Show loaded={records} what="audit.read">
        {(list) => (
          <table>
            <caption>Audit records{applied ? ` for ${applied}` : ''}</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">At</th>
                <th scope="col">Actor</th>
                <th scope="col">Role</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
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
