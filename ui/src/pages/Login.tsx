// Sign-in with a tenant, username and password (POST /api/v1/auth/login).

import { useState } from 'preact/hooks';
import { Api } from '../api';
import { TextField } from '../controls';
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
        <TextField label="Tenant" name="tenant" value={tenant} set={setTenant} required autoComplete="organization" />
        <TextField label="Username" name="username" value={username} set={setUsername} required autoComplete="username" />
        <TextField
          label="Password"
          name="password"
          type="password"
          value={password}
          set={setPassword}
          required
          autoComplete="current-password"
        />
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
