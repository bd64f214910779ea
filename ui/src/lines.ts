// The validation issues of a text, placed by line: what the editor's gutter marks and
// writes beside each line, and those with no line (shown above the editor).

export interface TextIssue {
  path: string;
  message: string;
  line: number | null;
  column: number | null;
}

export interface Placed {
  byLine: Map<number, TextIssue[]>;
  unplaced: TextIssue[];
}

/** Issues grouped by line; a line past the text's end is clamped to its last line. */
export function placeIssues(issues: readonly TextIssue[], lineCount: number): Placed {
  const byLine = new Map<number, TextIssue[]>();
  const unplaced: TextIssue[] = [];
  for (const issue of issues) {
    if (issue.line === null || issue.line < 1 || lineCount < 1) {
      unplaced.push(issue);
      continue;
    }
    const line = Math.min(issue.line, lineCount);
    byLine.set(line, [...(byLine.get(line) ?? []), issue]);
  }
  return { byLine, unplaced };
}

/** The number of lines an editor shows for `text` (an empty text has one). */
export function lineCount(text: string): number {
  return text.split('\n').length;
}

/** The character offset where line `line` (from 1) of `text` starts. */
export function lineStart(text: string, line: number): number {
  let at = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', at);
    if (next < 0) return text.length;
    at = next + 1;
  }
  return at;
}

/** The issues of a server answer (`{issues: [...]}`, a 422's body too), if it has any. */
export function issuesOf(body: unknown): TextIssue[] | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const issues = (body as { issues?: unknown }).issues;
  return Array.isArray(issues) ? (issues as TextIssue[]) : undefined;
}
