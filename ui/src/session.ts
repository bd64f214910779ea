// The signed-in session: the bearer token kept in sessionStorage (gone when the tab
// closes), and the tenant last signed in to, as the login form's default.

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
