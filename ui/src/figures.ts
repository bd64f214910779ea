// How the usage pages print figures: dollars, shares as percentages, milliseconds, and a
// part's share of a whole that may be zero.

/** Dollars with cents, or more decimals for amounts under a cent that are not zero. */
export function usd(v: number): string {
  if (v !== 0 && Math.abs(v) < 0.01) return `$${v.toFixed(4)}`;
  return `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A rate in 0..1 as a percentage with one decimal. */
export function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

/** Milliseconds, rounded; a dash for none. */
export function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${Math.round(v).toLocaleString('en-US')} ms`;
}

/** `part` of `whole` in 0..1; 0 when the whole is 0. */
export function shareOf(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/** An integer with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
