// Sign-in with a tenant, username and password (POST /api/v1/auth/login), or through the
// tenant's identity provider when it has one (docs/identity.md): the button leaves for
// /api/v1/auth/oidc/start, and the session comes back in the URL's fragment.

import { useEffect, useState } from 'preact/hooks';
import { Api } from '../api';
import { TextField } from '../controls';
import { lastTenant, rememberTenant } from '../session';

export function Login({
  onSignedIn,
  ssoError,
}: {
  onSignedIn: (token: string, tenant: string) => void;
  ssoError?: string;
}) {
  const [tenant, setTenant] = useState(lastTenant());
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(
    ssoError ? `Sign-in through the identity provider was refused (${ssoError}).` : undefined,
  );
  const [busy, setBusy] = useState(false);
  const [provider, setProvider] = useState<string | undefined>(undefined);

  useEffect(() => {
    setProvider(undefined);
    if (!tenant) return;
    // Asked once the typing pauses, not at every keystroke.
    const timer = setTimeout(() => {
      new Api(null).ssoProvider(tenant).then(
        (p) => setProvider(p?.name),
        () => setProvider(undefined),
      );
    }, 300);
    return () => clearTimeout(timer);
  }, [tenant]);

  const signInWithProvider = () => {
    rememberTenant(tenant);
    const query = new URLSearchParams({ tenant, return_to: '/ui/' });
    location.assign(`/api/v1/auth/oidc/start?${query}`);
  };

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
        {provider && (
          <button type="button" onClick={signInWithProvider}>
            Sign in with {provider}
          </button>
        )}
      </form>
    </main>
  );
}
