// The audit log's filters as the query string of GET /api/v1/audit. Times are entered and
// shown in UTC, as every time in the console is.

export interface AuditFilters {
  action: string;
  actor: string;
  /** `YYYY-MM-DDTHH:MM` (a datetime-local input's value), UTC; empty for none. */
  from: string;
  to: string;
}

export const NO_FILTERS: AuditFilters = { action: '', actor: '', from: '', to: '' };

/** A datetime-local value read as UTC, in ms; undefined when empty or not a time. */
export function utcMs(value: string): number | undefined {
  if (!value.trim()) return undefined;
  const ms = Date.parse(`${value.trim()}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `&action=…&actor=…&from=…&to=…` for the filters set. */
export function auditQuery(f: AuditFilters): string {
  const q = new URLSearchParams();
  if (f.action.trim()) q.set('action', f.action.trim());
  if (f.actor.trim()) q.set('actor', f.actor.trim());
  const from = utcMs(f.from);
  const to = utcMs(f.to);
  if (from !== undefined) q.set('from', String(from));
  if (to !== undefined) q.set('to', String(to));
  const s = q.toString();
  return s ? `&${s}` : '';
}

/** The filters in words, for the table's caption. */
export function describeFilters(f: AuditFilters): string {
  const parts = [
    f.action.trim() && `for ${f.action.trim()}`,
    f.actor.trim() && `by ${f.actor.trim()}`,
    utcMs(f.from) !== undefined && `from ${f.from} UTC`,
    utcMs(f.to) !== undefined && `before ${f.to} UTC`,
  ].filter(Boolean);
  return parts.join(' ');
}
