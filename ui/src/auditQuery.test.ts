import { describe, expect, it } from 'vitest';
import { NO_FILTERS, auditQuery, describeFilters, utcMs } from './auditQuery';

describe('auditQuery', () => {
  it('sends only the filters set, times as UTC milliseconds', () => {
    expect(auditQuery(NO_FILTERS)).toBe('');
    expect(auditQuery({ ...NO_FILTERS, action: ' config.activate ' })).toBe('&action=config.activate');
    expect(auditQuery({ action: '', actor: 'usr_1', from: '2026-12-07T10:00', to: '2026-12-07T11:30' })).toBe(
      '&actor=usr_1&from=1796637600000&to=1796643000000',
    );
  });
  it('ignores a time that is not one', () => {
    expect(utcMs('yesterday')).toBeUndefined();
    expect(utcMs('')).toBeUndefined();
    expect(auditQuery({ ...NO_FILTERS, from: 'nope' })).toBe('');
  });
  it('describes the filters in words', () => {
    expect(describeFilters({ action: 'a.b', actor: 'me', from: '2026-12-07T10:00', to: '' })).toBe(
      'for a.b by me from 2026-12-07T10:00 UTC',
    );
    expect(describeFilters(NO_FILTERS)).toBe('');
  });
});
