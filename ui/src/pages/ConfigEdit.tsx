// A new config version written as YAML, starting from the active one: the server checks
// it (POST /configs/validate) and each issue is marked in the gutter at its line, its
// message beside the line and in a list whose entries move the caret to the line.

import { useMemo, useRef, useState } from 'preact/hooks';
import type { ActiveConfig, Api, ConfigVersion } from '../api';
import { ApiError } from '../api';
import { TextField } from '../controls';
import { ActionError, Show, useAction, useLoad } from '../load';
import { issuesOf, lineCount, lineStart, placeIssues, type TextIssue } from '../lines';
import { hrefOf } from '../nav';
import { toYaml } from '../yaml';

interface Props {
  api: Api;
  go: (to: string) => void;
}

export function ConfigEdit({ api, go }: Props) {
  // The active version, or the newest when none is active yet; an empty text for none.
  const base = useLoad(async () => {
    const active = await api.get<{ version: ConfigVersion; active: ActiveConfig }>('/configs/active').then(
      (a) => a.version,
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      },
    );
    return active ?? null;
  }, [api]);
  return (
    <Show loaded={base} what="config.read">
      {(version) => <Editor api={api} go={go} base={version} />}
    </Show>
  );
}

function Editor({ api, go, base }: Props & { base: ConfigVersion | null }) {
  const [text, setText] = useState(() => (base ? toYaml(base.document) : 'version: 1\n'));
  const [label, setLabel] = useState('');
  const [issues, setIssues] = useState<TextIssue[] | undefined>(undefined);
  const [checkedText, setCheckedText] = useState<string | undefined>(undefined);
  const action = useAction();
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const notes = useRef<HTMLDivElement>(null);
  const lines = lineCount(text);
  const placed = useMemo(() => placeIssues(issues ?? [], lines), [issues, lines]);

  const check = () =>
    action.run(async () => {
      const r = await api.post<{ valid: boolean; issues: TextIssue[] }>('/configs/validate', { yaml: text });
      setIssues(r.issues);
      setCheckedText(text);
    });
  const save = () =>
    action.run(async () => {
      try {
        const v = await api.post<ConfigVersion>('/configs', { yaml: text, label: label.trim() || undefined });
        go(base ? hrefOf('configs', 'diff', String(base.number), String(v.number)) : hrefOf('configs', String(v.number)));
      } catch (e) {
        const found = e instanceof ApiError ? issuesOf(e.body) : undefined;
        if (found) {
          setIssues(found);
          setCheckedText(text);
        }
        throw e;
      }
    });
  const goToLine = (line: number) => {
    const el = area.current;
    if (!el) return;
    const at = lineStart(text, line);
    el.focus();
    el.setSelectionRange(at, at);
    el.scrollTop = (line - 3) * lineHeight(el);
    sync();
  };
  const sync = () => {
    const top = area.current?.scrollTop ?? 0;
    if (gutter.current) gutter.current.scrollTop = top;
    if (notes.current) notes.current.scrollTop = top;
  };
  const stale = issues !== undefined && checkedText !== text;
  const numbers = Array.from({ length: lines }, (_, i) => i + 1);

  return (
    <section aria-labelledby="edit-title">
      <h2 id="edit-title">New version{base ? ` (from version ${base.number}, active)` : ''}</h2>
      <form
        aria-label="New config version"
        class="editor-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div class="editor" aria-describedby="editor-issues">
          <div class="gutter" ref={gutter} aria-hidden="true">
            {numbers.map((n) => (
              <div key={n} data-line={n} class={placed.byLine.has(n) ? 'flag' : undefined}>
                {placed.byLine.has(n) ? '⚠ ' : ''}
                {n}
              </div>
            ))}
          </div>
          <label class="sr-only" for="config-yaml">
            Config YAML
          </label>
          <textarea
            id="config-yaml"
            ref={area}
            name="yaml"
            wrap="off"
            spellcheck={false}
            value={text}
            rows={Math.min(30, Math.max(12, lines))}
            aria-invalid={placed.byLine.size + placed.unplaced.length > 0 ? 'true' : undefined}
            onInput={(e) => setText(e.currentTarget.value)}
            onScroll={sync}
          />
          <div class="notes" ref={notes} aria-hidden="true">
            {numbers.map((n) => (
              <div key={n} data-line={n}>
                {placed.byLine.get(n)?.map((i) => i.message).join('; ') ?? ''}
              </div>
            ))}
          </div>
        </div>
        <div id="editor-issues" aria-live="polite">
          {issues !== undefined && issues.length === 0 && <p class="ok">No issues{stale ? ' (before your last edit)' : ''}.</p>}
          {issues !== undefined && issues.length > 0 && (
            <>
              <h3>
                {issues.length} issue{issues.length === 1 ? '' : 's'}
                {stale ? ' (before your last edit)' : ''}
              </h3>
              <ul class="issues">
                {issues.map((i, k) => (
                  <li key={k}>
                    {i.line !== null ? (
                      <button type="button" onClick={() => goToLine(i.line ?? 1)}>
                        Line {i.line}
                      </button>
                    ) : null}{' '}
                    {i.path && <code>{i.path}</code>} {i.message}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
        <TextField label="Label" name="label" value={label} set={setLabel} placeholder="what changed" />
        <ActionError action={action} />
        <button type="button" disabled={action.busy} onClick={() => void check()}>
          Check
        </button>
        <button type="submit" disabled={action.busy}>
          Save as new version
        </button>
      </form>
    </section>
  );
}

function lineHeight(el: HTMLElement): number {
  return parseFloat(getComputedStyle(el).lineHeight) || 20;
}
