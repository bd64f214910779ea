// The console's pages, the permission each needs (the server's matrix, docs/permissions.md)
// and the mapping between URLs under /ui/ and pages.

export type PageId =
  | 'overview'
  | 'apps'
  | 'users'
  | 'departments'
  | 'configs'
  | 'rollouts'
  | 'alerts'
  | 'audit'
  | 'security'
  | 'usage'
  | 'budgets'
  | 'capacity'
  | 'call-logs'
  | 'sso';

export interface PageDef {
  id: PageId;
  title: string;
  /** The permission that opens the page; the server answers 403 without it. */
  permission: string;
}

export const PAGES: readonly PageDef[] = [
  // First, so that whoever may read usage lands on it.
  { id: 'overview', title: 'Overview', permission: 'usage.read' },
  { id: 'apps', title: 'Apps and keys', permission: 'app.read' },
  { id: 'users', title: 'Users and roles', permission: 'user.read' },
  { id: 'departments', title: 'Departments', permission: 'department.read' },
  { id: 'configs', title: 'Config versions', permission: 'config.read' },
  { id: 'rollouts', title: 'Rollouts', permission: 'config.read' },
  { id: 'alerts', title: 'Alerts', permission: 'alert.read' },
  { id: 'audit', title: 'Audit log', permission: 'audit.read' },
  { id: 'security', title: 'Security events', permission: 'security_event.read' },
  { id: 'usage', title: 'Usage and cost', permission: 'cost.read' },
  { id: 'budgets', title: 'Budgets', permission: 'budget.read' },
  { id: 'capacity', title: 'Capacity', permission: 'health.read' },
  { id: 'call-logs', title: 'Call logs', permission: 'call_log.read' },
  { id: 'sso', title: 'Sign-in (SSO)', permission: 'sso.read' },
];

export const BASE = '/ui/';

/** The pages a caller holding `permissions` may open, in navigation order. */
export function visiblePages(permissions: readonly string[]): PageDef[] {
  const held = new Set(permissions);
  return PAGES.filter((p) => held.has(p.permission));
}

export type Route =
  | { kind: 'home' }
  | { kind: 'page'; page: PageDef; rest: string[] }
  | { kind: 'unknown'; path: string };

/** The route of a location path (`/ui/apps/ID` → page apps, rest [ID]). */
export function parseRoute(pathname: string): Route {
  const inner = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname.replace(/^\/+/, '');
  const parts = inner.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
  if (parts.length === 0) return { kind: 'home' };
  const page = PAGES.find((p) => p.id === parts[0]);
  if (!page) return { kind: 'unknown', path: inner };
  return { kind: 'page', page, rest: parts.slice(1) };
}

/** The URL of a page (and optional sub-path segments). */
export function hrefOf(id: PageId, ...rest: string[]): string {
  return BASE + [id, ...rest].map(encodeURIComponent).join('/');
}

/** Where a signed-in user lands: the first page it may open, or none. */
export function landingPage(permissions: readonly string[]): PageDef | undefined {
  return visiblePages(permissions)[0];
}
