// The shell: sign-in, then the navigation the caller's permissions allow (from
// /api/v1/me) and the page of the current URL; a page the caller may not open says so.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError, type Me } from './api';
import { hrefOf, landingPage, parseRoute, visiblePages, type PageDef } from './nav';
import { clearToken, loadToken, saveSession, takeFragmentSession } from './session';
import { Forbidden, ErrorNote } from './load';
import { Login } from './pages/Login';
import { AppsPage } from './pages/Apps';
import { UsersPage } from './pages/Users';
import { DepartmentsPage } from './pages/Departments';
import { ConfigsPage } from './pages/Configs';
import { AuditPage } from './pages/Audit';
import { SecurityPage } from './pages/Security';
import { OverviewPage } from './pages/Overview';
import { UsagePage } from './pages/Usage';
import { BudgetsPage } from './pages/Budgets';
import { CapacityPage } from './pages/Capacity';
import { RolloutsPage } from './pages/Rollouts';
import { AlertsPage } from './pages/Alerts';
import { CallLogsPage } from './pages/CallLogs';
import { SsoPage } from './pages/Sso';

function usePath(): [string, (to: string, replace?: boolean) => void] {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const go = (to: string, replace = false) => {
    if (replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
    setPath(to);
  };
  return [path, go];
}

// Read once, before the first render: a sign-in through the identity provider.
const fromProvider = takeFragmentSession();

export function App() {
  const [token, setToken] = useState<string | null>(loadToken());
  const [me, setMe] = useState<Me | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [path, go] = usePath();
  const api = useMemo(() => new Api(token), [token]);
  // /ui/ itself lands on the first page the caller may open.
  const landing = me && parseRoute(path).kind === 'home' ? landingPage(me.permissions) : undefined;
  useEffect(() => {
    if (landing) go(hrefOf(landing.id), true);
  }, [landing?.id]);

  useEffect(() => {
    if (!token) return;
    api.get<Me>('/me').then(setMe, (e: unknown) => {
      if (e instanceof ApiError && e.unauthenticated) {
        clearToken();
        setToken(null);
      } else {
        setError(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }, [api, token]);

  if (!token) {
    return (
      <Login
        ssoError={fromProvider.error}
        onSignedIn={(t, tenant) => {
          saveSession(t, tenant);
          setToken(t);
        }}
      />
    );
  }
  if (error) return <ErrorNote error={error} />;
  if (!me) return <p aria-busy="true">Loading…</p>;

  const signOut = () => {
    api.post('/auth/logout').catch(() => undefined);
    clearToken();
    setMe(undefined);
    setToken(null);
  };
  const pages = visiblePages(me.permissions);
  const route = parseRoute(path);
  const current = route.kind === 'page' ? route.page : undefined;

  return (
    <div class="shell">
      <header>
        <span class="brand">Switchyard</span>
        <span class="who">
          {me.username} · {me.bindings.map((b) => b.role).join(', ') || 'no roles'}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Console">
        <ul>
          {pages.map((p) => (
            <li key={p.id}>
              <a
                href={hrefOf(p.id)}
                aria-current={current?.id === p.id ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  go(hrefOf(p.id));
                }}
              >
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        <Content
          route={route}
          me={me}
          api={api}
          allowed={(p) => pages.includes(p)}
          go={go}
        />
      </main>
    </div>
  );
}

function Content({
  route,
  me,
  api,
  allowed,
  go,
}: {
  route: ReturnType<typeof parseRoute>;
  me: Me;
  api: Api;
  allowed: (p: PageDef) => boolean;
  go: (to: string, replace?: boolean) => void;
}) {
  if (route.kind === 'unknown') {
    return (
      <div class="notice" role="alert">
        <h2>No such page</h2>
        <p>There is no console page at “{route.path}”.</p>
      </div>
    );
  }
  if (route.kind === 'home') {
    if (landingPage(me.permissions)) return <p aria-busy="true">Loading…</p>;
    return (
      <div class="notice" role="alert">
        <h2>Nothing to show</h2>
        <p>Your roles open none of the console's pages yet.</p>
      </div>
    );
  }
  const { page } = route;
  if (!allowed(page)) return <Forbidden what={`${page.permission} (${page.title})`} />;
  const can = (permission: string) => me.permissions.includes(permission);
  const title = <h1>{page.title}</h1>;
  switch (page.id) {
    case 'apps':
      return (<>{title}<AppsPage api={api} can={can} /></>);
    case 'users':
      return (<>{title}<UsersPage api={api} can={can} /></>);
    case 'departments':
      return (<>{title}<DepartmentsPage api={api} can={can} /></>);
    case 'configs':
      return (<>{title}<ConfigsPage api={api} can={can} rest={route.rest} go={go} /></>);
    case 'rollouts':
      return (<>{title}<RolloutsPage api={api} can={can} selected={route.rest[0]} go={go} /></>);
    case 'alerts':
      return (<>{title}<AlertsPage api={api} can={can} /></>);
    case 'audit':
      return (<>{title}<AuditPage api={api} /></>);
    case 'security':
      return (<>{title}<SecurityPage api={api} /></>);
    case 'overview':
      return (<>{title}<OverviewPage api={api} can={can} /></>);
    case 'usage':
      return (<>{title}<UsagePage api={api} can={can} /></>);
    case 'budgets':
      return (<>{title}<BudgetsPage api={api} can={can} /></>);
    case 'capacity':
      return (<>{title}<CapacityPage api={api} /></>);
    case 'call-logs':
      return (<>{title}<CallLogsPage api={api} can={can} selected={route.rest[0]} go={go} /></>);
    case 'sso':
      return (<>{title}<SsoPage api={api} can={can} username={me.username} /></>);
  }
}
