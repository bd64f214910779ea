// The test OpenID provider (tests/oidc-provider, the oidc-provider package) on 127.0.0.1 for
// the browser suites, and signing in through it from the console's login page.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Starts the provider with `config` (its clients and users, see its server.mjs), written
 * into `dir`. Resolves `{issuer, stop}` once it listens.
 */
export async function startProvider(dir, config) {
  const file = join(dir, 'idp.json');
  writeFileSync(file, JSON.stringify(config));
  const script = resolve(import.meta.dirname, '../../tests/oidc-provider/server.mjs');
  const child = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const issuer = await new Promise((ok, fail) => {
    lines.once('line', ok);
    child.once('exit', () => fail(new Error('the test OpenID provider exited')));
  });
  lines.on('line', () => undefined);
  return { issuer, stop: () => child.kill() };
}

/** On the console's login page of `page`: the tenant typed, "Sign in with <provider>",
 * then the provider's own login page with `login` and `password`. */
export async function signInWithProvider(page, tenant, login, password) {
  await page.getByLabel('Tenant').fill(tenant);
  const button = page.getByRole('button', { name: 'Sign in with 127.0.0.1' });
  await button.waitFor();
  await button.click();
  await page.locator('input[name=login]').waitFor();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
