// Users of the tenant and their role bindings; with user.write, adding a user and a binding.

import { useState } from 'preact/hooks';
import type { Api, Department, List, User, UserDetail } from '../api';
import { describeBinding, formatTime } from '../format';
import { Form, Head, SelectField, TextField, departmentChoices } from '../controls';
import { Show, useAction, useLoad } from '../load';

export const ROLES = [
  'infra_admin',
  'model_ops',
  'interface_dev',
  'resource_manager',
  'security_engineer',
  'app_developer',
] as const;

export function UsersPage({ api, can }: { api: Api; can: (p: string) => boolean }) {
  const users = useLoad(async () => {
    const list = await api.get<List<User>>('/users?limit=500');
    return Promise.all(list.items.map((u) => api.get<UserDetail>(`/users/${encodeURIComponent(u.id)}`)));
  }, [api]);
  const departments = useLoad(() => api.get<List<Department>>('/departments?limit=500'), [api]);
  const deptName = (id: string) => departments.data?.items.find((d) => d.id === id)?.name;

  return (
    <Show loaded={users} what="user.read">
      {(list) => (
        <>
          <table>
            <caption>Users and their role bindings</caption>
            <Head columns={['Username', 'Name', 'Roles', 'State', 'Created']} />
            <tbody>
              {list.map((u) => (
                <tr key={u.id}>
                  <td>{u.username}</td>
                  <td>{u.display_name ?? ''}</td>
                  <td>
                    <ul class="plain">
                      {u.bindings.map((b) => (
                        <li key={b.id}>{describeBinding(b.role, b.department_id, deptName)}</li>
                      ))}
                    </ul>
                  </td>
                  <td>{u.disabled ? 'disabled' : 'active'}</td>
                  <td>{formatTime(u.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {can('user.write') && <NewUser api={api} onCreated={users.reload} />}
          {can('user.write') && (
            <Bind api={api} users={list} departments={departments.data?.items ?? []} onBound={users.reload} />
          )}
        </>
      )}
    </Show>
  );
}

function NewUser({ api, onCreated }: { api: Api; onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = { username, password, display_name: displayName || null };
    if (await action.run(() => api.post('/users', body))) {
      setUsername('');
      setDisplayName('');
      setPassword('');
      onCreated();
    }
  };
  return (
    <Form label="New user" submit="Create user" action={action} onSubmit={submit}>
      <TextField label="Username" name="new-username" value={username} set={setUsername} required autoComplete="off" />
      <TextField label="Display name" name="display-name" value={displayName} set={setDisplayName} autoComplete="off" />
      <TextField
        label="Initial password"
        name="new-password"
        type="password"
        value={password}
        set={setPassword}
        required
        autoComplete="new-password"
      />
    </Form>
  );
}

function Bind({
  api,
  users,
  departments,
  onBound,
}: {
  api: Api;
  users: UserDetail[];
  departments: Department[];
  onBound: () => void;
}) {
  const [user, setUser] = useState(users[0]?.id ?? '');
  const [role, setRole] = useState<string>(ROLES[0]);
  const [department, setDepartment] = useState('');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = { role, department_id: department || null };
    if (await action.run(() => api.post(`/users/${encodeURIComponent(user)}/bindings`, body))) onBound();
  };
  return (
    <Form label="Add a role binding" submit="Add binding" action={action} onSubmit={submit}>
      <SelectField label="User" name="user" value={user} set={setUser} choices={users.map((u) => ({ value: u.id, label: u.username }))} />
      <SelectField label="Role" name="role" value={role} set={setRole} choices={ROLES.map((r) => ({ value: r, label: r }))} />
      <SelectField
        label="Scope"
        name="scope"
        value={department}
        set={setDepartment}
        choices={[
          { value: '', label: 'Whole tenant' },
          ...departmentChoices(departments, ' and below'),
        ]}
      />
    </Form>
  );
}
