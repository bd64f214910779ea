// Alerts (docs/alerts.md): the rules with a form for the kinds the caller's roles may
// create (health, cost, security each have their own permission), the channels (and a new
// one with alert_channel.write), what is firing now, and the delivery history.

import { useState } from 'preact/hooks';
import type { AlertChannel, AlertDelivery, AlertRule, AlertState, Api, List } from '../api';
import { categoryOf, creatableKinds, permissionOf, KINDS } from '../alertKinds';
import { Form, Head, SelectField, TextField } from '../controls';
import { formatTime } from '../format';
import { Show, useAction, useLoad } from '../load';

interface Props {
  api: Api;
  can: (p: string) => boolean;
}

export function AlertsPage({ api, can }: Props) {
  const data = useLoad(async () => {
    const [rules, channels, states, deliveries] = await Promise.all([
      api.get<List<AlertRule>>('/alerts/rules?limit=500'),
      api.get<List<AlertChannel>>('/alert-channels?limit=500'),
      api.get<AlertState[]>('/alerts'),
      api.get<List<AlertDelivery>>('/alerts/deliveries?limit=200'),
    ]);
    return { rules: rules.items, channels: channels.items, states, deliveries: deliveries.items };
  }, [api]);

  return (
    <Show loaded={data} what="alert.read">
      {({ rules, channels, states, deliveries }) => {
        const ruleName = (id: string) => rules.find((r) => r.id === id)?.name ?? id;
        const channelName = (id: string) => channels.find((c) => c.id === id)?.name ?? id;
        return (
          <>
            <table>
              <caption>Rules</caption>
              <Head columns={['Name', 'Category', 'Kind', 'Parameters', 'Channels', 'For', 'Created']} />
              <tbody>
                {rules.map((r) => (
                  <tr key={r.id}>
                    <td>{r.name}</td>
                    <td>{categoryOf(r.kind) ?? ''}</td>
                    <td>{r.kind}</td>
                    <td><code>{JSON.stringify(r.params)}</code></td>
                    <td>{r.channel_ids.map(channelName).join(', ')}</td>
                    <td>{r.for_ms ? `${r.for_ms / 1000} s` : '—'}</td>
                    <td>{formatTime(r.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {channels.length > 0 && creatableKinds(can).length > 0 && (
              <NewRule api={api} can={can} channels={channels} done={data.reload} />
            )}
            <table>
              <caption>Firing and recent states</caption>
              <Head columns={['Rule', 'Subject', 'State', 'Since', 'Value', 'Notified']} />
              <tbody>
                {states.map((s) => (
                  <tr key={`${s.rule_id}/${s.subject}`}>
                    <td>{ruleName(s.rule_id)}</td>
                    <td><code>{s.subject}</code></td>
                    <td>{s.state}</td>
                    <td>{formatTime(s.since)}</td>
                    <td>{s.value}</td>
                    <td>{formatTime(s.notified_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table>
              <caption>Channels</caption>
              <Head columns={['Name', 'Kind', 'Target', 'Created']} />
              <tbody>
                {channels.map((c) => (
                  <tr key={c.id}>
                    <td>{c.name}</td>
                    <td>{c.kind}</td>
                    <td><code>{c.url}</code></td>
                    <td>{formatTime(c.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {can('alert_channel.write') && <NewChannel api={api} done={data.reload} />}
            <table>
              <caption>Deliveries, newest first</caption>
              <Head columns={['At', 'Rule', 'Channel', 'Subject', 'Status', 'Attempt', 'Result']} />
              <tbody>
                {deliveries.map((d) => (
                  <tr key={d.id}>
                    <td>{formatTime(d.at)}</td>
                    <td>{ruleName(d.rule_id)}</td>
                    <td>{channelName(d.channel_id)}</td>
                    <td><code>{d.subject}</code></td>
                    <td>{d.status}</td>
                    <td>{d.attempt}</td>
                    <td>{d.ok ? `ok${d.http_status ? ` (${d.http_status})` : ''}` : `failed: ${d.error ?? d.http_status ?? ''}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        );
      }}
    </Show>
  );
}

function NewRule({ api, can, channels, done }: Props & { channels: AlertChannel[]; done: () => void }) {
  const kinds = creatableKinds(can);
  const [name, setName] = useState('');
  const [kind, setKind] = useState(kinds[0].kind);
  const [params, setParams] = useState(JSON.stringify(kinds[0].params));
  const [channel, setChannel] = useState(channels[0].id);
  const action = useAction();
  const pick = (k: string) => {
    setKind(k);
    setParams(JSON.stringify(KINDS.find((x) => x.kind === k)?.params ?? {}));
  };
  const category = categoryOf(kind) ?? 'health';
  return (
    <Form
      label="New alert rule"
      submit="Create rule"
      action={action}
      onSubmit={(e) => {
        e.preventDefault();
        void action
          .run(async () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(params);
            } catch {
              throw new Error('Parameters: not valid JSON');
            }
            await api.post(`/alerts/${category}/rules`, { name: name.trim(), kind, params: parsed, channel_ids: [channel] });
          })
          .then((ok) => {
            if (ok) {
              setName('');
              done();
            }
          });
      }}
    >
      <TextField label="Rule name" name="name" value={name} set={setName} required />
      <SelectField
        label="Kind"
        name="kind"
        value={kind}
        set={pick}
        choices={kinds.map((k) => ({ value: k.kind, label: `${k.kind} (${k.category})` }))}
      />
      <TextField label="Parameters (JSON)" name="params" value={params} set={setParams} />
      <SelectField label="Channel" name="channel" value={channel} set={setChannel} choices={channels.map((c) => ({ value: c.id, label: c.name }))} />
      <p class="hint">Needs {permissionOf(category)}.</p>
    </Form>
  );
}

function NewChannel({ api, done }: { api: Api; done: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState('webhook');
  const [url, setUrl] = useState('');
  const action = useAction();
  return (
    <Form
      label="New channel"
      submit="Create channel"
      action={action}
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(() => api.post('/alert-channels', { name: name.trim(), kind, url: url.trim() })).then((ok) => {
          if (ok) {
            setName('');
            setUrl('');
            done();
          }
        });
      }}
    >
      <TextField label="Channel name" name="name" value={name} set={setName} required />
      <SelectField
        label="Channel kind"
        name="kind"
        value={kind}
        set={setKind}
        choices={[
          { value: 'webhook', label: 'Webhook' },
          { value: 'slack', label: 'Slack' },
        ]}
      />
      <TextField label="URL" name="url" value={url} set={setUrl} required placeholder="https://…" />
    </Form>
  );
}
