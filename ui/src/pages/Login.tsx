// Sign-in with a tenant, username and password (POST /api/v1/auth/login).

import { useState } from 'preact/hooks';
import { Api } from '../api';
import { lastTenant } from '../session';

export function Login({ onSignedIn }: { onSignedIn: (token: string, tenant: string) => void }) {
  const [tenant, setTenant] = useState(lastTenant());
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await new Api(null).login(tenant, username, password), tenant);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <h1>Switchyard console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Tenant
          <input name="tenant" value={tenant} required autoComplete="organization" onInput={(e) => setTenant(e.currentTarget.value)} />
        </label>
        <label>
          Username
          <input name="username" value={username} required autoComplete="username" onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" value={password} required autoComplete="current-password" onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
