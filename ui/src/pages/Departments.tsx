// Departments: the tree as an indented list, and adding one (department.write).

import { useState } from 'preact/hooks';
import type { Api, Department, List } from '../api';
import { ActionError, Show, useAction, useLoad } from '../load';
import { departmentTree } from '../tree';

export function DepartmentsPage({ api, can }: { api: Api; can: (p: string) => boolean }) {
  const departments = useLoad(() => api.get<List<Department>>('/departments?limit=500'), [api]);
  const [name, setName] = useState('');
  const [parent, setParent] = useState('');
  const action = useAction();

  const submit = async (e: Event) => {
    e.preventDefault();
    const ok = await action.run(() => api.post('/departments', { name, parent_id: parent || null }));
    if (ok) {
      setName('');
      departments.reload();
    }
  };

  return (
    <Show loaded={departments} what="department.read">
      {(list) => (
        <>
          <table>
            <caption>Departments of the tenant</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
              </tr>
            </thead>
            <tbody>
              {departmentTree(list.items).map(({ department, depth }) => (
                <tr key={department.id}>
                  <td style={{ paddingLeft: `${0.5 + depth * 1.5}rem` }}>{department.name}</td>
                  <td><code>{department.id}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
          {can('department.write') && (
            <form onSubmit={submit} aria-label="New department">
              <h2>New department</h2>
              <label>
                Name
                <input name="name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
              </label>
              <label>
                Parent
                <select name="parent" value={parent} onChange={(e) => setParent(e.currentTarget.value)}>
                  <option value="">(top level)</option>
                  {list.items.map((d) => (
                    <option key={d.id} value={d.id}>{d.name}</option>
                  ))}
                </select>
              </label>
              <ActionError action={action} />
              <button type="submit" disabled={action.busy}>Add department</button>
            </form>
          )}
        </>
      )}
    </Show>
  );
}
