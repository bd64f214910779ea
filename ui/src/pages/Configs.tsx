// Config versions: the list with the active one marked, a version's document, and
// activating a version or rolling back (config.activate); the editor of a new version
// (config.write, /ui/configs/new) and the diff of two (/ui/configs/diff/A/B).

import type { ActiveConfig, Api, ConfigVersion, List } from '../api';
import { formatTime } from '../format';
import { ApiError } from '../api';
import { Head, SelectField } from '../controls';
import { ActionError, Forbidden, Show, useAction, useLoad } from '../load';
import { hrefOf } from '../nav';
import { useState } from 'preact/hooks';
import { ConfigEdit } from './ConfigEdit';
import { ConfigDiff } from './ConfigDiff';

interface Props {
  api: Api;
  can: (p: string) => boolean;
  rest: string[];
  go: (to: string) => void;
}

type Summary = Omit<ConfigVersion, 'document'>;

export function ConfigsPage(props: Props) {
  if (props.rest[0] !== 'new') return <Versions {...props} />;
  if (!props.can('config.write')) return <Forbidden what="config.write (a new config version)" />;
  return <ConfigEdit api={props.api} go={props.go} />;
}

function Versions({ api, can, rest, go }: Props) {
  const selected = rest[0] === 'diff' ? undefined : rest[0];
  const versions = useLoad(async () => {
    const list = await api.get<List<Summary>>('/configs?limit=500');
    // 404: nothing has been activated yet.
    const active = await api.get<{ active: ActiveConfig }>('/configs/active').then(
      (a) => a.active,
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      },
    );
    return { items: list.items, active: active?.version_id, previous: active?.previous_version_id ?? undefined };
  }, [api]);
  const action = useAction();
  const activate = (v: Summary) =>
    action.run(async () => {
      await api.post(`/configs/${encodeURIComponent(v.id)}/activate`);
      versions.reload();
    });
  const rollback = () =>
    action.run(async () => {
      await api.post('/configs/rollback');
      versions.reload();
    });

  return (
    <Show loaded={versions} what="config.read">
      {({ items, active, previous }) => (
        <>
          <p class="actions">
            {can('config.write') && (
              <a
                href={hrefOf('configs', 'new')}
                onClick={(e) => {
                  e.preventDefault();
                  go(hrefOf('configs', 'new'));
                }}
              >
                Edit a new version
              </a>
            )}
            {can('config.activate') && previous && (
              <button type="button" disabled={action.busy} onClick={() => rollback()}>
                Roll back to version {items.find((v) => v.id === previous)?.number ?? 'before'}
              </button>
            )}
          </p>
          <table>
            <caption>Config versions, newest first</caption>
            <Head columns={['Version', 'Label', 'Author', 'Created', 'State', ...(can('config.activate') ? [''] : [])]} />
            <tbody>
              {[...items].sort((a, b) => b.number - a.number).map((v) => (
                <tr key={v.id} aria-current={selected === String(v.number) ? 'true' : undefined}>
                  <td>
                    <a
                      href={hrefOf('configs', String(v.number))}
                      onClick={(e) => {
                        e.preventDefault();
                        go(hrefOf('configs', String(v.number)));
                      }}
                    >
                      {v.number}
                    </a>
                  </td>
                  <td>{v.label ?? ''}</td>
                  <td>{v.author}</td>
                  <td>{formatTime(v.created_at)}</td>
                  <td>{v.id === active ? <strong>active</strong> : ''}</td>
                  {can('config.activate') && (
                    <td>
                      {v.id !== active && (
                        <button type="button" disabled={action.busy} onClick={() => activate(v)} aria-label={`Activate version ${v.number}`}>
                          Activate
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <ActionError action={action} />
          {items.length > 1 && <Compare numbers={items.map((v) => v.number)} rest={rest} go={go} />}
          {rest[0] === 'diff' && rest[1] && rest[2] && <ConfigDiff key={`${rest[1]}/${rest[2]}`} api={api} from={rest[1]} to={rest[2]} />}
          {selected && <Version api={api} number={selected} />}
        </>
      )}
    </Show>
  );
}

/** Two versions to compare: the newest against the one before, unless the URL says. */
function Compare({ numbers, rest, go }: { numbers: number[]; rest: string[]; go: (to: string) => void }) {
  const sorted = [...numbers].sort((a, b) => b - a);
  const [from, setFrom] = useState(rest[0] === 'diff' && rest[1] ? rest[1] : String(sorted[1]));
  const [to, setTo] = useState(rest[0] === 'diff' && rest[2] ? rest[2] : String(sorted[0]));
  const choices = sorted.map((n) => ({ value: String(n), label: `Version ${n}` }));
  return (
    <form
      aria-label="Compare versions"
      onSubmit={(e) => {
        e.preventDefault();
        go(hrefOf('configs', 'diff', from, to));
      }}
    >
      <SelectField label="From" name="from" value={from} set={setFrom} choices={choices} />
      <SelectField label="To" name="to" value={to} set={setTo} choices={choices} />
      <button type="submit">Compare</button>
    </form>
  );
}

function Version({ api, number }: { api: Api; number: string }) {
  const version = useLoad(() => api.get<ConfigVersion>(`/configs/${encodeURIComponent(number)}`), [api, number]);
  return (
    <section aria-labelledby="version-title">
      <h2 id="version-title">Version {number}</h2>
      <Show loaded={version} what="config.read">
        {(v) => (
          <>
            <p>
              Digest <code>{v.digest}</code>
            </p>
            <pre class="document" tabIndex={0} aria-label={`Document of version ${number}`}>
              {JSON.stringify(v.document, null, 2)}
            </pre>
          </>
        )}
      </Show>
    </section>
  );
}
