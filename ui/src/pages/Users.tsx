// Users of the tenant and their role bindings; with user.write, adding a binding.

import { useState } from 'preact/hooks';
import type { Api, Department, List, User, UserDetail } from '../api';
import { describeBinding, formatTime } from '../format';
import { ActionError, Show, useAction, useLoad } from '../load';

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
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Name</th>
                <th scope="col">Roles</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
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
          {can('user.write') && (
            <Bind api={api} users={list} departments={departments.data?.items ?? []} onBound={users.reload} />
          )}
        </>
      )}
    </Show>
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
    <form onSubmit={submit} aria-label="Add a role binding">
      <h2>Add a role binding</h2>
      <label>
        User
        <select name="user" value={user} onChange={(e) => setUser(e.currentTarget.value)}>
          {users.map((u) => (
            <option key={u.id} value={u.id}>{u.username}</option>
          ))}
        </select>
      </label>
      <label>
        Role
        <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>{r}</option>
          ))}
        </select>
      </label>
      <label>
        Scope
        <select name="scope" value={department} onChange={(e) => setDepartment(e.currentTarget.value)}>
          <option value="">Whole tenant</option>
          {departments.map((d) => (
            <option key={d.id} value={d.id}>{d.name} and below</option>
          ))}
        </select>
      </label>
      <ActionError action={action} />
      <button type="submit" disabled={action.busy}>Add binding</button>
    </form>
  );
}
