// Time ranges for the usage pages: the presets (last 24 h, 7 d, 30 d) or chosen days, a
// bucket step the series API accepts (whole minutes) that keeps a chart readable, and
// the series laid on every bucket of the range so gaps show as gaps.

export type Preset = '24h' | '7d' | '30d' | 'custom';

export interface Range {
  /** Unix milliseconds, `to` exclusive. */
  from: number;
  to: number;
  stepMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const PRESETS: readonly { value: Preset; label: string; spanMs: number }[] = [
  { value: '24h', label: 'Last 24 hours', spanMs: DAY },
  { value: '7d', label: 'Last 7 days', spanMs: 7 * DAY },
  { value: '30d', label: 'Last 30 days', spanMs: 30 * DAY },
  { value: 'custom', label: 'Chosen days', spanMs: 0 },
];

const LADDER = [1, 5, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * MINUTE);

/** The smallest step of the ladder giving at most `maxBuckets` buckets; whole days past it. */
export function stepFor(spanMs: number, maxBuckets = 40): number {
  const fit = LADDER.find((s) => spanMs / s <= maxBuckets);
  return fit ?? Math.ceil(spanMs / maxBuckets / DAY) * DAY;
}

/** A step as the API reads it: `1d`, `6h`, `15m`. */
export function stepText(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  return `${Math.max(1, Math.round(ms / MINUTE))}m`;
}

/** `YYYY-MM-DD` as UTC midnight in milliseconds; undefined if not a real date. */
export function parseDay(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms;
}

/** The UTC day of `ms` as `YYYY-MM-DD`. */
export function dayText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The range of a preset ending at `now` (its end rounded up to a whole step, so buckets
 * fall on whole hours or days), or of chosen days (`fromDay` to `toDay`, both included,
 * UTC). A string says what is wrong with chosen days.
 */
export function rangeOf(preset: Preset, now: number, fromDay = '', toDay = ''): Range | string {
  if (preset !== 'custom') {
    const span = PRESETS.find((p) => p.value === preset)?.spanMs ?? DAY;
    const stepMs = stepFor(span);
    const to = Math.ceil(now / stepMs) * stepMs;
    return { from: to - span, to, stepMs };
  }
  const from = parseDay(fromDay);
  const last = parseDay(toDay);
  if (from === undefined) return 'From must be a date (YYYY-MM-DD)';
  if (last === undefined) return 'To must be a date (YYYY-MM-DD)';
  if (last < from) return 'To must not be before From';
  const to = last + DAY;
  return { from, to, stepMs: stepFor(to - from) };
}

/** The start of every bucket of the range. */
export function bucketTimes(r: Range): number[] {
  const out: number[] = [];
  for (let t = r.from; t < r.to; t += r.stepMs) out.push(t);
  return out;
}

/**
 * One value per bucket of the range from points that list only buckets with calls: a
 * bucket without a point gets `missing` (0 for counts, null where there is no value).
 */
export function onBuckets<P extends { time: number }>(
  r: Range,
  points: readonly P[],
  pick: (p: P) => number | null,
  missing: number | null,
): (number | null)[] {
  const at = new Map(points.map((p) => [p.time, p]));
  return bucketTimes(r).map((t) => {
    const p = at.get(t);
    return p ? pick(p) : missing;
  });
}

/** The query string of a range for the series API. */
export function rangeQuery(r: Range): string {
  return `from=${r.from}&to=${r.to}&step=${stepText(r.stepMs)}`;
}

/** The query of `[from, to)` in one bucket (a step of whole minutes, rounded up). */
export function wholeQuery(from: number, to: number): string {
  return `from=${from}&to=${to}&step=${Math.max(1, Math.ceil((to - from) / MINUTE))}m`;
}

/** The start of the UTC day and month of `now`, and the month as `YYYY-MM`. */
export function dayStart(now: number): number {
  return now - (now % DAY);
}

export function monthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}
