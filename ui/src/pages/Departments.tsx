// Departments: the tree as an indented list, and adding one (department.write).

import { useState } from 'preact/hooks';
import type { Api, Department, List } from '../api';
import { Form, Head, SelectField, TextField, departmentChoices } from '../controls';
import { Show, useAction, useLoad } from '../load';
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
            <Head columns={['Name', 'Id']} />
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
            <Form label="New department" submit="Add department" action={action} onSubmit={submit}>
              <TextField label="Name" name="name" value={name} set={setName} required />
              <SelectField
                label="Parent"
                name="parent"
                value={parent}
                set={setParent}
                choices={[{ value: '', label: '(top level)' }, ...departmentChoices(list.items)]}
              />
            </Form>
          )}
        </>
      )}
    </Show>
  );
}
