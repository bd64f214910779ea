import { describe, expect, it } from 'vitest';
import { issuesOf, lineCount, lineStart, placeIssues } from './lines';

const issue = (line: number | null, message = 'm') => ({ path: 'p', message, line, column: 1 });

describe('placeIssues', () => {
  it('groups issues by line and keeps those without one apart', () => {
    const placed = placeIssues([issue(3, 'a'), issue(3, 'b'), issue(1), issue(null, 'top')], 5);
    expect([...placed.byLine.keys()].sort()).toEqual([1, 3]);
    expect(placed.byLine.get(3)?.map((i) => i.message)).toEqual(['a', 'b']);
    expect(placed.unplaced.map((i) => i.message)).toEqual(['top']);
  });

  it('puts a line past the end on the last line', () => {
    expect([...placeIssues([issue(9)], 4).byLine.keys()]).toEqual([4]);
  });
});

describe('lines', () => {
  it('counts lines and finds where each starts', () => {
    expect(lineCount('')).toBe(1);
    expect(lineCount('a\nb\n')).toBe(3);
    const text = 'ab\ncd\nef';
    expect(lineStart(text, 1)).toBe(0);
    expect(lineStart(text, 3)).toBe(6);
    expect(lineStart(text, 9)).toBe(text.length);
  });

  it('reads issues from a server answer', () => {
    expect(issuesOf({ code: 'invalid', issues: [issue(2)] })).toHaveLength(1);
    expect(issuesOf({ code: 'invalid' })).toBeUndefined();
    expect(issuesOf(null)).toBeUndefined();
  });
});
