import { describe, expect, it } from 'vitest';
import { diffStats, lineDiff, withContext } from './diff';

describe('lineDiff', () => {
  it('keeps unchanged lines and marks additions and removals with their numbers', () => {
    const d = lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n');
    expect(d).toEqual([
      { kind: 'same', text: 'a', old: 1, new: 1 },
      { kind: 'del', text: 'b', old: 2 },
      { kind: 'add', text: 'B', new: 2 },
      { kind: 'same', text: 'c', old: 3, new: 3 },
      { kind: 'add', text: 'd', new: 4 },
    ]);
    expect(diffStats(d)).toEqual({ added: 2, removed: 1 });
  });

  it('handles empty texts and identical ones', () => {
    expect(lineDiff('', 'x\n')).toEqual([{ kind: 'add', text: 'x', new: 1 }]);
    expect(lineDiff('x\n', '')).toEqual([{ kind: 'del', text: 'x', old: 1 }]);
    expect(diffStats(lineDiff('p\nq\n', 'p\nq\n'))).toEqual({ added: 0, removed: 0 });
  });

  it('finds the longest run kept, not the first match', () => {
    const d = lineDiff('x\na\nb\nc\n', 'a\nb\nc\nx\n');
    expect(d.filter((l) => l.kind === 'same').map((l) => l.text)).toEqual(['a', 'b', 'c']);
    expect(diffStats(d)).toEqual({ added: 1, removed: 1 });
  });
});

describe('withContext', () => {
  it('folds unchanged lines far from any change', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const after = before.replace('l10', 'changed');
    const view = withContext(lineDiff(before, after), 2);
    expect(view.map((l) => (l.kind === 'fold' ? `…${l.count}` : `${l.kind}:${l.text}`))).toEqual([
      '…8',
      'same:l8',
      'same:l9',
      'del:l10',
      'add:changed',
      'same:l11',
      'same:l12',
      '…7',
    ]);
  });
});
