// Call logs (docs/call-logs.md): the logged calls of the apps in reach, filtered; one
// call's request and answer as a conversation, its JSON on demand; and, for
// call_log.configure, an app's policy. Every read of content is audited by the server.

import { useState } from 'preact/hooks';
import type { Api, App, List } from '../api';
import { formatTime } from '../format';
import { Form, Head, SelectField, TextField, type Choice } from '../controls';
import { Show, useAction, useLoad } from '../load';
import { hrefOf } from '../nav';

interface CallLogItem {
  id: string;
  time: number;
  app_id: string;
  model: string;
  deployment: string;
  provider: string;
  user: string | null;
  tags: string[];
  outcome: 'ok' | 'error';
  error_code: string | null;
  cache_hit: boolean;
  local: boolean;
  stream: boolean;
  redacted: boolean;
  truncated: boolean;
  content_bytes: number;
  preview: string | null;
}

interface CallLogPage extends List<CallLogItem> {
  scanned: number;
  scan_limit_reached: boolean;
}

interface Message {
  role: string;
  content: unknown;
}

interface CallLogDetail extends CallLogItem {
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    cost_usd: number;
    latency_ms: number;
    attempts: number;
    fallback: string | null;
    arm: string | null;
  } | null;
  content: {
    request: { messages?: Message[]; [k: string]: unknown };
    response: { content: string | null; tool_calls?: unknown[]; finish_reason?: string } | null;
    error: string | null;
    redacted: boolean;
    truncated: boolean;
  };
}

export type Mode = 'off' | 'errors' | 'all' | { sample: number };

export interface Policy {
  content: Mode;
  max_bytes: number;
  redact: boolean;
  models: Record<string, Mode>;
  retention_days: number;
}

interface Props {
  api: Api;
  can: (p: string) => boolean;
  selected: string | undefined;
  go: (to: string) => void;
}

const ANY: Choice = { value: '', label: 'any' };

/** The search's query string from the filter fields (empty ones left out). */
export function searchQuery(filters: Record<string, string>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v.trim()) q.set(k, v.trim());
  return q.toString();
}

export function CallLogsPage({ api, can, selected, go }: Props) {
  const apps = useLoad(() => api.get<List<App>>('/apps?limit=500'), [api]);
  const appName = (id: string) => apps.data?.items.find((a) => a.id === id)?.name ?? id;
  if (selected) return <OneCall api={api} id={selected} appName={appName} go={go} />;
  return (
    <>
      <Search api={api} apps={apps.data?.items ?? []} appName={appName} go={go} />
      {can('call_log.configure') && apps.data && <PolicyEditor api={api} apps={apps.data.items} />}
    </>
  );
}

function Search({
  api,
  apps,
  appName,
  go,
}: {
  api: Api;
  apps: App[];
  appName: (id: string) => string;
  go: (to: string) => void;
}) {
  const empty = { app: '', model: '', user: '', tag: '', outcome: '', cache_hit: '', local: '', text: '' };
  const [filters, setFilters] = useState(empty);
  const [applied, setApplied] = useState('');
  const set = (k: keyof typeof empty) => (v: string) => setFilters({ ...filters, [k]: v });
  const page = useLoad(() => api.get<CallLogPage>(`/call-logs?limit=100&${applied}`), [api, applied]);
  const yesNo: Choice[] = [ANY, { value: 'true', label: 'yes' }, { value: 'false', label: 'no' }];
  return (
    <>
      <form
        aria-label="Search call logs"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(searchQuery(filters));
        }}
      >
        <SelectField
          label="App"
          name="app"
          value={filters.app}
          set={set('app')}
          choices={[ANY, ...apps.map((a) => ({ value: a.id, label: a.name }))]}
        />
        <TextField label="Model" name="model" value={filters.model} set={set('model')} />
        <TextField label="User" name="user" value={filters.user} set={set('user')} />
        <TextField label="Tag" name="tag" value={filters.tag} set={set('tag')} />
        <SelectField
          label="Outcome"
          name="outcome"
          value={filters.outcome}
          set={set('outcome')}
          choices={[ANY, { value: 'ok', label: 'ok' }, { value: 'error', label: 'error' }]}
        />
        <SelectField label="Cache hit" name="cache_hit" value={filters.cache_hit} set={set('cache_hit')} choices={yesNo} />
        <SelectField label="Local model" name="local" value={filters.local} set={set('local')} choices={yesNo} />
        <TextField label="Text contains" name="text" value={filters.text} set={set('text')} />
        <button type="submit">Search</button>
      </form>
      <Show loaded={page} what="call_log.read">
        {(p) => (
          <>
            {p.scan_limit_reached && (
              <p class="notice">
                The text search stopped after {p.scanned} calls: older matches may exist. Narrow the filters.
              </p>
            )}
            <table>
              <caption>Logged calls{applied ? ' (filtered)' : ''}</caption>
              <Head columns={['Time', 'App', 'Model', 'User', 'Outcome', 'Served by', 'Asked']} />
              <tbody>
                {p.items.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <a
                        href={hrefOf('call-logs', c.id)}
                        onClick={(e) => {
                          e.preventDefault();
                          go(hrefOf('call-logs', c.id));
                        }}
                      >
                        {formatTime(c.time)}
                      </a>
                    </td>
                    <td>{appName(c.app_id)}</td>
                    <td>{c.model}</td>
                    <td>{c.user ?? ''}</td>
                    <td>{c.outcome === 'ok' ? 'ok' : `error: ${c.error_code}`}</td>
                    <td>{servedBy(c)}</td>
                    <td>{c.preview ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {p.items.length === 0 && <p>No logged calls match.</p>}
          </>
        )}
      </Show>
    </>
  );
}

function servedBy(c: CallLogItem): string {
  if (c.cache_hit) return 'cache';
  if (c.local) return 'local model';
  return c.deployment || c.provider;
}

/** A message's content as text: a string, or the text parts of a multi-part one. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && 'text' in p ? String((p as { text: unknown }).text) : ''))
      .filter((t) => t)
      .join(' ');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

function OneCall({
  api,
  id,
  appName,
  go,
}: {
  api: Api;
  id: string;
  appName: (id: string) => string;
  go: (to: string) => void;
}) {
  const call = useLoad(() => api.get<CallLogDetail>(`/call-logs/${encodeURIComponent(id)}`), [api, id]);
  return (
    <>
      <p>
        <a
          href={hrefOf('call-logs')}
          onClick={(e) => {
            e.preventDefault();
            go(hrefOf('call-logs'));
          }}
        >
          All logged calls
        </a>
      </p>
      <Show loaded={call} what="call_log.read">
        {(c) => (
          <>
            <h2>
              Call at {formatTime(c.time)} · {appName(c.app_id)} · {c.model}
            </h2>
            <table>
              <caption>The call</caption>
              <tbody>
                <tr><th scope="row">Outcome</th><td>{c.outcome === 'ok' ? 'ok' : `error: ${c.error_code}`}</td></tr>
                <tr><th scope="row">Served by</th><td>{servedBy(c)}</td></tr>
                <tr><th scope="row">User</th><td>{c.user ?? ''}</td></tr>
                <tr><th scope="row">Tags</th><td>{c.tags.join(', ')}</td></tr>
                {c.usage && (
                  <>
                    <tr><th scope="row">Tokens</th><td>{c.usage.prompt_tokens} in, {c.usage.completion_tokens} out</td></tr>
                    <tr><th scope="row">Cost</th><td>${c.usage.cost_usd.toFixed(6)}</td></tr>
                    <tr><th scope="row">Latency</th><td>{c.usage.latency_ms.toFixed(0)} ms, {c.usage.attempts} attempt(s)</td></tr>
                  </>
                )}
                <tr><th scope="row">Content</th><td>{[c.redacted && 'redacted', c.truncated && 'truncated'].filter(Boolean).join(', ') || 'as sent'}</td></tr>
              </tbody>
            </table>
            <section aria-label="Conversation">
              <h2>Conversation</h2>
              <ol class="plain conversation">
                {(c.content.request.messages ?? []).map((m, i) => (
                  <li key={i} class={`message ${m.role}`}>
                    <strong>{m.role}</strong>
                    <p>{messageText(m.content)}</p>
                  </li>
                ))}
                {c.content.response && (
                  <li class="message answer">
                    <strong>answer</strong>
                    <p>{c.content.response.content ?? ''}</p>
                    {c.content.response.tool_calls && <pre class="document">{JSON.stringify(c.content.response.tool_calls, null, 2)}</pre>}
                  </li>
                )}
                {c.content.error && (
                  <li class="message error" role="note">
                    <strong>error</strong>
                    <p>{c.content.error}</p>
                  </li>
                )}
              </ol>
            </section>
            <details>
              <summary>Request and answer as JSON</summary>
              <pre class="document" aria-label="Call JSON">{JSON.stringify(c.content, null, 2)}</pre>
            </details>
          </>
        )}
      </Show>
    </>
  );
}

/** The mode select's value for a mode, and back. */
export function modeChoice(mode: Mode): string {
  return typeof mode === 'string' ? mode : 'sample';
}

function PolicyEditor({ api, apps }: { api: Api; apps: App[] }) {
  const [app, setApp] = useState(apps[0]?.id ?? '');
  const policy = useLoad(
    () => (app ? api.get<Policy>(`/apps/${encodeURIComponent(app)}/call-logs`) : Promise.resolve(undefined)),
    [api, app],
  );
  return (
    <section aria-label="Call-log policy" class="policy">
      <SelectField
        label="Policy of app"
        name="policy-app"
        value={app}
        set={setApp}
        choices={apps.map((a) => ({ value: a.id, label: a.name }))}
      />
      {policy.data && <PolicyForm key={app} api={api} app={app} policy={policy.data} onSaved={policy.reload} />}
    </section>
  );
}

function PolicyForm({ api, app, policy, onSaved }: { api: Api; app: string; policy: Policy; onSaved: () => void }) {
  const [mode, setMode] = useState(modeChoice(policy.content));
  const [rate, setRate] = useState(typeof policy.content === 'object' ? String(policy.content.sample) : '0.1');
  const [maxBytes, setMaxBytes] = useState(String(policy.max_bytes));
  const [retention, setRetention] = useState(String(policy.retention_days));
  const [redact, setRedact] = useState(policy.redact);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const content: Mode = mode === 'sample' ? { sample: Number(rate) } : (mode as Mode);
    const body: Policy = {
      content,
      max_bytes: Number(maxBytes),
      redact,
      models: policy.models,
      retention_days: Number(retention),
    };
    if (await action.run(() => api.call('PUT', `/apps/${encodeURIComponent(app)}/call-logs`, body))) {
      setSaved(true);
      onSaved();
    }
  };
  return (
    <Form label="Call-log policy" submit="Save policy" action={action} onSubmit={submit}>
      <SelectField
        label="Log content"
        name="mode"
        value={mode}
        set={setMode}
        choices={[
          { value: 'off', label: 'off' },
          { value: 'errors', label: 'failed calls' },
          { value: 'all', label: 'every call' },
          { value: 'sample', label: 'a sample' },
        ]}
      />
      {mode === 'sample' && <TextField label="Sample rate (0 to 1)" name="rate" value={rate} set={setRate} />}
      <TextField label="Max bytes per call" name="max-bytes" value={maxBytes} set={setMaxBytes} />
      <TextField label="Retention (days)" name="retention" value={retention} set={setRetention} />
      <label>
        <span>Redact PII</span>
        <input type="checkbox" name="redact" checked={redact} onChange={(e) => setRedact(e.currentTarget.checked)} />
      </label>
      {Object.keys(policy.models).length > 0 && (
        <p>Per-model modes kept: {Object.keys(policy.models).join(', ')}</p>
      )}
      {saved && <output>Saved: the app's SDKs pick it up with their config.</output>}
    </Form>
  );
}
