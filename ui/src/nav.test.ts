import { describe, expect, it } from 'vitest';
import { hrefOf, landingPage, parseRoute, visiblePages } from './nav';

describe('visiblePages', () => {
  it('shows only the pages whose permission is held, in order', () => {
    const ids = visiblePages(['config.read', 'app.read', 'usage.read']).map((p) => p.id);
    expect(ids).toEqual(['overview', 'apps', 'configs', 'rollouts']);
    expect(visiblePages(['alert.read']).map((p) => p.id)).toEqual(['alerts']);
  });
  it('shows nothing without permissions', () => {
    expect(visiblePages([])).toEqual([]);
    expect(landingPage([])).toBeUndefined();
  });
  it('whoever reads usage lands on the overview, others on their first page', () => {
    expect(landingPage(['department.read', 'app.read', 'usage.read'])?.id).toBe('overview');
    expect(landingPage(['department.read', 'app.read', 'health.read', 'budget.read'])?.id).toBe('apps');
    expect(visiblePages(['health.read', 'budget.read', 'cost.read']).map((p) => p.id)).toEqual([
      'usage',
      'budgets',
      'capacity',
    ]);
  });
  it('a security engineer reaches the audit log', () => {
    expect(visiblePages(['audit.read', 'user.read', 'security_event.read']).map((p) => p.id)).toEqual([
      'users',
      'audit',
      'security',
    ]);
  });
});

describe('parseRoute', () => {
  it('maps /ui/ to home and pages with sub-paths', () => {
    expect(parseRoute('/ui/')).toEqual({ kind: 'home' });
    expect(parseRoute('/ui')).toEqual({ kind: 'unknown', path: 'ui' });
    const r = parseRoute('/ui/configs/3');
    expect(r.kind === 'page' && r.page.id).toBe('configs');
    expect(r.kind === 'page' && r.rest).toEqual(['3']);
  });
  it('names unknown paths', () => {
    expect(parseRoute('/ui/nope/x')).toEqual({ kind: 'unknown', path: 'nope/x' });
  });
  it('round-trips hrefOf with encoded segments', () => {
    const href = hrefOf('configs', 'a b/c');
    expect(href).toBe('/ui/configs/a%20b%2Fc');
    const r = parseRoute(href);
    expect(r.kind === 'page' && r.rest).toEqual(['a b/c']);
  });
});
