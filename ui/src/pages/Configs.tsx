// Config versions: the list with the active one marked, a version's document, and
// activating a version (config.activate).

import type { ActiveConfig, Api, ConfigVersion, List } from '../api';
import { formatTime } from '../format';
import { ApiError } from '../api';
import { Head } from '../controls';
import { ActionError, Show, useAction, useLoad } from '../load';
import { hrefOf } from '../nav';

interface Props {
  api: Api;
  can: (p: string) => boolean;
  selected: string | undefined;
  go: (to: string) => void;
}

type Summary = Omit<ConfigVersion, 'document'>;

export function ConfigsPage({ api, can, selected, go }: Props) {
  const versions = useLoad(async () => {
    const list = await api.get<List<Summary>>('/configs?limit=500');
    // 404: nothing has been activated yet.
    const active = await api.get<{ active: ActiveConfig }>('/configs/active').then(
      (a) => a.active.version_id,
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      },
    );
    return { items: list.items, active };
  }, [api]);
  const action = useAction();
  const activate = (v: Summary) =>
    action.run(async () => {
      await api.post(`/configs/${encodeURIComponent(v.id)}/activate`);
      versions.reload();
    });

  return (
    <Show loaded={versions} what="config.read">
      {({ items, active }) => (
        <>
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
          {selected && <Version api={api} number={selected} />}
        </>
      )}
    </Show>
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
