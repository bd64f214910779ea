// The signed-in session: the bearer token kept in sessionStorage (gone when the tab
// closes), and the tenant last signed in to, as the login form's default. A sign-in
// through the tenant's identity provider comes back with `#token=…` (or
// `#sso_error=…`) in the URL's fragment, taken from there once.

const TOKEN = 'switchyard.token';
const TENANT = 'switchyard.tenant';

export function loadToken(): string | null {
  return sessionStorage.getItem(TOKEN);
}

export function saveSession(token: string, tenant: string): void {
  sessionStorage.setItem(TOKEN, token);
  sessionStorage.setItem(TENANT, tenant);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN);
}

export function lastTenant(): string {
  return sessionStorage.getItem(TENANT) ?? '';
}

export function rememberTenant(tenant: string): void {
  sessionStorage.setItem(TENANT, tenant);
}

/** What a fragment such as `#token=sys_…` or `#sso_error=nonce` says. */
export function parseFragment(hash: string): { token?: string; error?: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token') ?? undefined;
  const error = params.get('sso_error') ?? undefined;
  return { token, error };
}

/** Takes a single sign-in's result out of the address bar, keeping it out of history. */
export function takeFragmentSession(): { token?: string; error?: string } {
  const found = parseFragment(location.hash);
  if (found.token || found.error) {
    history.replaceState(null, '', location.pathname + location.search);
  }
  if (found.token) sessionStorage.setItem(TOKEN, found.token);
  return found;
}
