import { describe, expect, it } from 'vitest';
import { messageText, modeChoice, searchQuery } from './pages/CallLogs';
import { visiblePages } from './nav';

describe('the call-logs page helpers', () => {
  it('builds the search query from the filled filters only', () => {
    expect(searchQuery({ app: 'app_1', model: ' ', text: 'order 12', outcome: '' })).toBe('app=app_1&text=order+12');
    expect(searchQuery({})).toBe('');
  });
  it('reads a message as text, multi-part ones included', () => {
    expect(messageText('hi')).toBe('hi');
    expect(messageText([{ type: 'text', text: 'a' }, { type: 'image_url' }, { type: 'text', text: 'b' }])).toBe('a b');
    expect(messageText(null)).toBe('');
  });
  it('maps a policy mode to the select', () => {
    expect(modeChoice('errors')).toBe('errors');
    expect(modeChoice({ sample: 0.1 })).toBe('sample');
  });
  it('opens the page with call_log.read only', () => {
    expect(visiblePages(['call_log.read']).map((p) => p.id)).toEqual(['call-logs']);
    expect(visiblePages(['usage.read', 'cost.read', 'budget.read']).map((p) => p.id)).not.toContain('call-logs');
  });
});
