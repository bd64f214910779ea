import { describe, expect, it } from 'vitest';
import { categoryOf, creatableKinds } from './alertKinds';

describe('alert kinds', () => {
  it('names each kind’s category', () => {
    expect(categoryOf('p95_latency')).toBe('health');
    expect(categoryOf('spend_anomaly')).toBe('cost');
    expect(categoryOf('auth_failures')).toBe('security');
    expect(categoryOf('policy_violations')).toBe('security');
    expect(categoryOf('nope')).toBeUndefined();
  });
  it('offers only the kinds whose category’s write permission is held', () => {
    const held = (ps: string[]) => (p: string) => ps.includes(p);
    expect(creatableKinds(held(['alert.security.write'])).map((k) => k.kind)).toEqual(['auth_failures', 'policy_violations']);
    expect(creatableKinds(held(['alert.cost.write'])).map((k) => k.kind)).toEqual(['budget_percent', 'spend_anomaly']);
    expect(creatableKinds(held([]))).toEqual([]);
  });
});
