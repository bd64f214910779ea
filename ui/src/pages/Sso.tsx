// Sign-in through the tenant's OpenID provider (docs/identity.md): the provider's settings
// (the client secret write-only: set or not, never shown), the callback URL to register
// at the provider, and the rules from provider groups and service clients to roles, each
// said in one line. sso.read to see, sso.write to change.

import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { ApiError, type Api, type Department, type List } from '../api';
import { Form, SelectField, TextField, type Choice } from '../controls';
import { formatTime } from '../format';
import { ActionError, Show, useAction, useLoad } from '../load';
import { departmentTree } from '../tree';
import {
  callbackUrl,
  checkForm,
  departmentPath,
  explainRule,
  formOf,
  inputOf,
  lockoutWarning,
  orderRules,
  scopeText,
  serverFieldError,
  type FieldErrors,
  type RuleKind,
  type SsoForm,
  type SsoRule,
  type SsoSettings,
} from '../sso';
import { ROLES } from './Users';

interface Props {
  api: Api;
  can: (p: string) => boolean;
  /** The person signed in: warned before locking their own password out. */
  username: string;
}

export function SsoPage({ api, can, username }: Props) {
  // null: the tenant has no provider (the server's 404).
  const settings = useLoad(async () => {
    try {
      return await api.get<SsoSettings>('/sso');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }, [api]);
  const rules = useLoad(() => api.get<SsoRule[]>('/sso/rules'), [api]);
  const departments = useLoad(() => api.get<List<Department>>('/departments?limit=500'), [api]);
  const depts = departments.data?.items ?? [];
  const canWrite = can('sso.write');

  return (
    <Show loaded={settings} what="sso.read">
      {(current) => (
        <>
          <Callback saved={current?.redirect_uri} />
          <section aria-labelledby="sso-provider">
            <h2 id="sso-provider">Identity provider</h2>
            {current === null && <p>No provider is connected: people sign in with local passwords only.</p>}
            {canWrite ? (
              <>
                <SettingsForm key={current?.updated_at ?? 0} api={api} current={current} username={username} onSaved={settings.reload} />
                {current && <Disconnect api={api} onDone={settings.reload} />}
              </>
            ) : (
              current && <SettingsView settings={current} />
            )}
          </section>
          <section aria-labelledby="sso-rules">
            <h2 id="sso-rules">Rules: provider groups and services to roles</h2>
            <p class="hint">
              At each sign-in a person gets exactly the roles the rules give the groups in their ID token (the
              claim <code>{current?.groups_claim ?? 'groups'}</code>): a group removed at the provider removes its
              role at the next sign-in. A service calling the API with the provider’s token gets what the rules
              for its client id give, from its next call. Roles given by hand on Users and roles are kept apart.
            </p>
            <Show loaded={rules} what="sso.read">
              {(list) => (
                <Rules api={api} rules={orderRules(list, depts)} departments={depts} canWrite={canWrite} onChanged={rules.reload} />
              )}
            </Show>
            {canWrite && <NewRule api={api} departments={depts} onCreated={rules.reload} />}
          </section>
        </>
      )}
    </Show>
  );
}

/** The callback to register at the provider, with a copy button. */
function Callback({ saved }: { saved: string | undefined }) {
  const here = callbackUrl(location.origin);
  const url = saved ?? here;
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied('Copied.');
    } catch {
      // No clipboard permission: select it for the person to copy.
      field.current?.select();
      setCopied('Selected: copy it with Ctrl+C.');
    }
  };
  return (
    <section aria-labelledby="sso-callback" class="callback">
      <h2 id="sso-callback">Callback URL</h2>
      <p class="hint">Register it at the provider as the application’s redirect (sign-in) URI, exactly as written.</p>
      <div class="actions">
        <label>
          Callback URL
          <input ref={field} type="text" readOnly value={url} size={Math.min(url.length, 60)} />
        </label>
        <button type="button" onClick={copy}>
          Copy
        </button>
        <span role="status">{copied}</span>
      </div>
      {saved !== undefined && saved !== here && (
        <p class="notice">
          The saved callback differs from this console’s address ({here}): people reaching the console here come
          back to {saved}.
        </p>
      )}
    </section>
  );
}

/** A labelled control with the refusal of its field beside it. */
function Field({
  label,
  name,
  error,
  note,
  children,
}: {
  label: string;
  name: string;
  error: string | undefined;
  note?: string;
  children: (describedBy: string | undefined) => ComponentChildren;
}) {
  const ids = [note ? `${name}-note` : '', error ? `${name}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label>
        {label}
        {children(ids)}
      </label>
      {note && (
        <span id={`${name}-note`} class="hint">
          {note}
        </span>
      )}
      {error && (
        <span id={`${name}-error`} class="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

function SettingsForm({
  api,
  current,
  username,
  onSaved,
}: {
  api: Api;
  current: SsoSettings | null;
  username: string;
  onSaved: () => void;
}) {
  const [form, setForm] = useState<SsoForm>(() => formOf(current ?? undefined, location.origin));
  const [errors, setErrors] = useState<FieldErrors>({});
  const action = useAction();
  const set = (k: keyof SsoForm) => (v: string) => setForm({ ...form, [k]: v });

  const submit = async (e: Event) => {
    e.preventDefault();
    const found = checkForm(form);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    if (
      await action.run(async () => {
        try {
          await api.call<SsoSettings>('PUT', '/sso', inputOf(form));
        } catch (err) {
          const byField = err instanceof ApiError ? serverFieldError(err.body) : undefined;
          if (!byField) throw err;
          setErrors(byField);
          throw new Error('Not saved: the server refused the field marked above.');
        }
      })
    ) {
      onSaved();
    }
  };

  const text = (k: Exclude<keyof SsoForm, 'sso_required'>, label: string, note?: string, placeholder?: string) => (
    <Field label={label} name={`sso-${k}`} error={errors[k]} note={note}>
      {(describedBy) => (
        <input
          type="text"
          name={k}
          value={form[k]}
          placeholder={placeholder}
          aria-invalid={errors[k] ? true : undefined}
          aria-describedby={describedBy}
          onInput={(e) => set(k)(e.currentTarget.value)}
        />
      )}
    </Field>
  );
  const secretNote = current?.client_secret_hint
    ? `Set (${current.client_secret_hint}). Type a new one to replace it; left empty, it is kept.`
    : 'Not set: a public client (PKCE only). Type the secret of a confidential client.';

  return (
    <Form label={current ? 'Provider settings' : 'Connect a provider'} submit="Save settings" action={action} onSubmit={submit}>
      {current && <p class="hint">Last saved {formatTime(current.updated_at)} UTC.</p>}
      {text('issuer', 'Issuer URL', 'Exactly the issuer of the provider’s discovery document (a trailing slash matters).', 'https://login.example.com/realms/acme')}
      {text('client_id', 'Client id')}
      <Field label="Client secret" name="sso-client_secret" error={errors.client_secret} note={secretNote}>
        {(describedBy) => (
          <input
            type="password"
            name="client_secret"
            autoComplete="new-password"
            value={form.client_secret}
            aria-describedby={describedBy}
            onInput={(e) => set('client_secret')(e.currentTarget.value)}
          />
        )}
      </Field>
      {text('redirect_uri', 'Callback URL (redirect URI)', 'This server’s callback as registered at the provider.')}
      {text('scopes', 'Scopes', 'Space-separated; must include openid (add groups if the provider needs it for the claim).')}
      {text('groups_claim', 'Groups claim', 'The ID token claim holding the person’s groups.')}
      {text('api_audience', 'API audience for service tokens', 'The audience a service’s access token must carry; empty: no service tokens. Must differ from the client id.')}
      <Field label="SSO required" name="sso-sso_required" error={errors.sso_required} note="Local passwords refused but for the break-glass users.">
        {(describedBy) => (
          <input
            type="checkbox"
            name="sso_required"
            checked={form.sso_required}
            aria-describedby={describedBy}
            onChange={(e) => setForm({ ...form, sso_required: e.currentTarget.checked })}
          />
        )}
      </Field>
      {text('break_glass', 'Break-glass users', 'Usernames (comma-separated) that keep their local password when SSO is required.')}
      {lockoutWarning(form, username) && (
        <p class="notice hint" role="status">
          {lockoutWarning(form, username)}
        </p>
      )}
    </Form>
  );
}

/** `DELETE /api/v1/sso`, asked twice: everyone then signs in with a local password. */
function Disconnect({ api, onDone }: { api: Api; onDone: () => void }) {
  const [asking, setAsking] = useState(false);
  const action = useAction();
  const disconnect = async () => {
    if (await action.run(() => api.call('DELETE', '/sso'))) onDone();
  };
  return (
    <div class="actions">
      {asking ? (
        <>
          <span>Disconnect the provider? Its users will not be able to sign in until it is connected again; the rules stay.</span>
          <button type="button" disabled={action.busy} onClick={disconnect}>
            Yes, disconnect
          </button>
          <button type="button" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" onClick={() => setAsking(true)}>
          Disconnect the provider
        </button>
      )}
      <ActionError action={action} />
    </div>
  );
}

function SettingsView({ settings }: { settings: SsoSettings }) {
  const rows: [string, string][] = [
    ['Issuer URL', settings.issuer],
    ['Client id', settings.client_id],
    ['Client secret', settings.client_secret_hint ? `set (${settings.client_secret_hint})` : 'not set'],
    ['Scopes', settings.scopes.join(' ')],
    ['Groups claim', settings.groups_claim],
    ['API audience for service tokens', settings.api_audience ?? 'none (no service tokens)'],
    ['SSO required', settings.sso_required ? 'yes' : 'no'],
    ['Break-glass users', settings.break_glass.join(', ') || 'none'],
    ['Last changed', `${formatTime(settings.updated_at)} UTC`],
  ];
  return (
    <dl class="settings">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

const kindText = (k: RuleKind) => (k === 'group' ? 'people’s group' : 'service client');

function Rules({
  api,
  rules,
  departments,
  canWrite,
  onChanged,
}: {
  api: Api;
  rules: SsoRule[];
  departments: Department[];
  canWrite: boolean;
  onChanged: () => void;
}) {
  const action = useAction();
  const remove = (r: SsoRule) =>
    action.run(async () => {
      await api.call('DELETE', `/sso/rules/${encodeURIComponent(r.id)}`);
      onChanged();
    });
  if (rules.length === 0) return <p>No rules: people who sign in through the provider get no role.</p>;
  return (
    <>
      <table class="rules">
        <caption>Rules</caption>
        {/* On a narrow screen only the explanation column shows: it says all the others do. */}
        <thead>
          <tr>
            {['Kind', 'Group or client id', 'Role', 'Scope'].map((c) => (
              <th key={c} scope="col" class="detail">{c}</th>
            ))}
            <th scope="col">What this does</th>
            {canWrite && <th scope="col"><span class="sr-only">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id}>
              <td class="detail">{kindText(r.kind)}</td>
              <td class="detail"><code>{r.group}</code></td>
              <td class="detail">{r.role}</td>
              <td class="detail">{scopeText(r.department_id, departments)}</td>
              <td>{explainRule(r, departments)}</td>
              {canWrite && (
                <td>
                  <button type="button" disabled={action.busy} onClick={() => remove(r)} aria-label={`Delete the rule: ${explainRule(r, departments)}`}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <ActionError action={action} />
    </>
  );
}

/** The department scopes in tree order, each by its path. */
function scopeChoices(departments: readonly Department[]): Choice[] {
  return [
    { value: '', label: 'Whole tenant' },
    ...departmentTree(departments).map(({ department }) => ({
      value: department.id,
      label: `${departmentPath(department.id, departments) ?? department.name} and below`,
    })),
  ];
}

function NewRule({ api, departments, onCreated }: { api: Api; departments: Department[]; onCreated: () => void }) {
  const [kind, setKind] = useState<RuleKind>('group');
  const [value, setValue] = useState('');
  const [role, setRole] = useState<string>(ROLES[0]);
  const [department, setDepartment] = useState('');
  const action = useAction();
  const rule = { kind, group: value.trim(), role, department_id: department || null };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await action.run(() => api.post('/sso/rules', rule))) {
      setValue('');
      onCreated();
    }
  };
  return (
    <Form label="Add a rule" submit="Add rule" action={action} onSubmit={submit}>
      <SelectField
        label="Kind"
        name="rule-kind"
        value={kind}
        set={(v) => setKind(v === 'client' ? 'client' : 'group')}
        choices={[
          { value: 'group', label: 'People in a provider group' },
          { value: 'client', label: 'A service (client id)' },
        ]}
      />
      <TextField
        label={kind === 'group' ? 'Group (as in the groups claim)' : 'Client id'}
        name="rule-value"
        value={value}
        set={setValue}
        required
        autoComplete="off"
      />
      <SelectField label="Role" name="rule-role" value={role} set={setRole} choices={ROLES.map((r) => ({ value: r, label: r }))} />
      <SelectField label="Scope" name="rule-scope" value={department} set={setDepartment} choices={scopeChoices(departments)} />
      {rule.group && <p class="hint" aria-live="polite">This rule: {explainRule(rule, departments)}</p>}
    </Form>
  );
}
