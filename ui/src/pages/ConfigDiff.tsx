// The line diff between two config versions, each written as YAML the way the editor
// writes it: unchanged runs folded to three lines of context.

import type { Api, ConfigVersion } from '../api';
import { diffStats, lineDiff, withContext } from '../diff';
import { Show, useLoad } from '../load';
import { toYaml } from '../yaml';

export function ConfigDiff({ api, from, to }: { api: Api; from: string; to: string }) {
  const pair = useLoad(async () => {
    const [a, b] = await Promise.all(
      [from, to].map((n) => api.get<ConfigVersion>(`/configs/${encodeURIComponent(n)}`)),
    );
    return lineDiff(toYaml(a.document), toYaml(b.document));
  }, [api, from, to]);
  const title = `Changes from version ${from} to version ${to}`;
  return (
    <section aria-labelledby="diff-title">
      <h2 id="diff-title">{title}</h2>
      <Show loaded={pair} what="config.read">
        {(diff) => {
          const { added, removed } = diffStats(diff);
          return (
            <>
              <p>
                {added} line{added === 1 ? '' : 's'} added, {removed} removed.
              </p>
              <table class="diff" aria-label={title}>
                <thead>
                  <tr>
                    <th scope="col">Old</th>
                    <th scope="col">New</th>
                    <th scope="col"><span class="sr-only">Change</span></th>
                    <th scope="col">Line</th>
                  </tr>
                </thead>
                <tbody>
                  {withContext(diff).map((l, k) =>
                    l.kind === 'fold' ? (
                      <tr key={k} class="fold">
                        <td colSpan={4}>… {l.count} unchanged line{l.count === 1 ? '' : 's'}</td>
                      </tr>
                    ) : (
                      <tr key={k} class={l.kind}>
                        <td>{l.old ?? ''}</td>
                        <td>{l.new ?? ''}</td>
                        <td aria-label={l.kind === 'add' ? 'added' : l.kind === 'del' ? 'removed' : 'unchanged'}>
                          {l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ''}
                        </td>
                        <td><code>{l.text}</code></td>
                      </tr>
                    ),
                  )}
                </tbody>
              </table>
            </>
          );
        }}
      </Show>
    </section>
  );
}
