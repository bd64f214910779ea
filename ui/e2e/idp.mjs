// The test OpenID provider (tests/oidc-provider, the oidc-provider package) on 127.0.0.1 for
// the browser suites, a suite's server, provider and browser started together, and signing
// in through the provider from the console's login page.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { launch } from './browser.mjs';
import { startServer } from './server.mjs';

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

/**
 * Registers the suite's hooks: a fresh server, the provider with one client `switchyard`
 * (secret `secret`, this server's callback) and `users`, and Chromium; all stopped after.
 * The returned object fills in before the tests: `{server, callback, idp, browser}`; then
 * `setup(suite)` runs, in the same hook (Node 20 runs a file's top-level `before` hooks
 * concurrently, so a second hook could not count on this one).
 */
export function providerSuite({ secret, users, setup = async () => undefined }) {
  const suite = {};
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-idp-'));
  before(async () => {
    suite.server = await startServer();
    suite.callback = `${suite.server.url}/api/v1/auth/oidc/callback`;
    suite.idp = await startProvider(dir, {
      clients: [{ client_id: 'switchyard', client_secret: secret, redirect_uris: [suite.callback] }],
      users,
    });
    suite.browser = await launch();
    await setup(suite);
  });
  after(async () => {
    await suite.browser?.close();
    suite.idp?.stop();
    suite.server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return suite;
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
