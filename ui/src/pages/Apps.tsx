// Apps and their API keys: create an app in a department, create a key (its secret shown
// once, here and never again), revoke a key.

import { useState } from 'preact/hooks';
import type { Api, App, AppKey, Department, List } from '../api';
import { formatTime } from '../format';
import { Form, Head, SelectField, TextField, departmentChoices } from '../controls';
import { ActionError, Show, useAction, useLoad } from '../load';

interface Props {
  api: Api;
  can: (p: string) => boolean;
}

export function AppsPage({ api, can }: Props) {
  const apps = useLoad(() => api.get<List<App>>('/apps?limit=500'), [api]);
  const departments = useLoad(() => api.get<List<Department>>('/departments?limit=500'), [api]);
  const deptName = (id: string) => departments.data?.items.find((d) => d.id === id)?.name ?? id;

  return (
    <Show loaded={apps} what="app.read">
      {(list) => (
        <>
          <table>
            <caption>Apps</caption>
            <Head columns={['Name', 'Department', 'Created']} />
            <tbody>
              {list.items.map((a) => (
                <tr key={a.id}>
                  <td>{a.name}</td>
                  <td>{deptName(a.department_id)}</td>
                  <td>{formatTime(a.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.items.length === 0 && <p>No apps yet.</p>}
          {can('app.write') && departments.data && (
            <NewApp api={api} departments={departments.data.items} onCreated={apps.reload} />
          )}
          {can('key.read') &&
            list.items.map((a) => <Keys key={a.id} api={api} app={a} canWrite={can('key.write')} />)}
        </>
      )}
    </Show>
  );
}

function NewApp({ api, departments, onCreated }: { api: Api; departments: Department[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [department, setDepartment] = useState(departments[0]?.id ?? '');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await action.run(() => api.post('/apps', { name, department_id: department }))) {
      setName('');
      onCreated();
    }
  };
  return (
    <Form label="New app" submit="Create app" action={action} onSubmit={submit}>
      <TextField label="Name" name="app-name" value={name} set={setName} required />
      <SelectField
        label="Department"
        name="department"
        value={department}
        set={setDepartment}
        choices={departmentChoices(departments)}
      />
    </Form>
  );
}

function Keys({ api, app, canWrite }: { api: Api; app: App; canWrite: boolean }) {
  const keys = useLoad(() => api.get<AppKey[]>(`/apps/${encodeURIComponent(app.id)}/keys`), [api, app.id]);
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const action = useAction();
  const create = async (e: Event) => {
    e.preventDefault();
    await action.run(async () => {
      const made = await api.post<{ secret: string }>(`/apps/${encodeURIComponent(app.id)}/keys`, { name });
      setSecret(made.secret);
      setName('');
      keys.reload();
    });
  };
  const revoke = (k: AppKey) =>
    action.run(async () => {
      await api.post(`/keys/${encodeURIComponent(k.id)}/revoke`);
      keys.reload();
    });

  return (
    <section aria-labelledby={`keys-${app.id}`}>
      <h2 id={`keys-${app.id}`}>Keys of {app.name}</h2>
      <Show loaded={keys} what="key.read">
        {(list) => (
          <table>
            <Head columns={['Name', 'Prefix', 'Created', 'State', ...(canWrite ? [''] : [])]} />
            <tbody>
              {list.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td><code>{k.prefix}</code></td>
                  <td>{formatTime(k.created_at)}</td>
                  <td>{k.revoked_at ? `revoked ${formatTime(k.revoked_at)}` : 'active'}</td>
                  {canWrite && (
                    <td>
                      {!k.revoked_at && (
                        <button type="button" disabled={action.busy} onClick={() => revoke(k)} aria-label={`Revoke key ${k.name} of ${app.name}`}>
                          Revoke
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      {secret && (
        <div class="secret" role="status">
          <p>
            The new key, shown this once: store it now.
          </p>
          <output aria-label="New key secret"><code>{secret}</code></output>
          <button type="button" onClick={() => setSecret(undefined)}>I have stored it</button>
        </div>
      )}
      {canWrite && (
        <form onSubmit={create} aria-label={`New key for ${app.name}`}>
          <TextField label="Key name" name="key-name" value={name} set={setName} required />
          <button type="submit" disabled={action.busy}>Create key</button>
        </form>
      )}
      <ActionError action={action} />
    </section>
  );
}
