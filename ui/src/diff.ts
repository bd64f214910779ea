// A line diff of two texts (a longest common subsequence), for comparing config versions:
// each line kept, added or removed, and the unchanged runs folded down to some context.

export type DiffKind = 'same' | 'add' | 'del';

export interface DiffLine {
  kind: DiffKind;
  text: string;
  /** The line's number in the old text (same, del) and in the new one (same, add). */
  old?: number;
  new?: number;
}

/** Every line of `before` and `after` in order, marked kept, removed or added. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i], old: ++i, new: ++j });
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      // Removals before additions where either keeps as much: old then new, as people read.
      out.push({ kind: 'del', text: a[i], old: ++i });
    } else {
      out.push({ kind: 'add', text: b[j], new: ++j });
    }
  }
  return out;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A run of unchanged lines left out of the view. */
export interface Fold {
  kind: 'fold';
  count: number;
}

/** The diff with unchanged lines more than `context` away from a change folded. */
export function withContext(diff: DiffLine[], context = 3): (DiffLine | Fold)[] {
  const near = diff.map(() => false);
  diff.forEach((l, k) => {
    if (l.kind === 'same') return;
    for (let d = Math.max(0, k - context); d <= Math.min(diff.length - 1, k + context); d++) near[d] = true;
  });
  const out: (DiffLine | Fold)[] = [];
  diff.forEach((l, k) => {
    if (near[k]) out.push(l);
    else {
      const last = out[out.length - 1];
      if (last && last.kind === 'fold') last.count++;
      else out.push({ kind: 'fold', count: 1 });
    }
  });
  return out;
}

/** Lines added and removed. */
export function diffStats(diff: DiffLine[]): { added: number; removed: number } {
  return {
    added: diff.filter((l) => l.kind === 'add').length,
    removed: diff.filter((l) => l.kind === 'del').length,
  };
}
