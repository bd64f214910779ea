// Signing in to the console through the tenant's identity provider, in a real browser: the
// test OpenID provider (tests/oidc-provider, the oidc-provider package) on 127.0.0.1, the
// tenant connected to it; the login page offers "Sign in with <provider>" once the tenant
// is typed, the provider's own login page takes the password, and the console opens signed
// in as the provisioned user. A wrong tenant shows no such button.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, shots } from './browser.mjs';
import { startProvider } from './idp.mjs';
import { TENANT, startServer } from './server.mjs';

let server;
let idp;
let browser;
const dir = mkdtempSync(join(tmpdir(), 'switchyard-sso-'));

before(async () => {
  server = await startServer();
  const callback = `${server.url}/api/v1/auth/oidc/callback`;
  idp = await startProvider(dir, {
    clients: [{ client_id: 'switchyard', client_secret: 'client-secret', redirect_uris: [callback] }],
    users: { 'dana-sub': { password: 'dana-pw', claims: { preferred_username: 'dana', groups: ['ops'] } } },
  });
  await server.api('PUT', '/sso', {
    issuer: idp.issuer,
    client_id: 'switchyard',
    client_secret: 'client-secret',
    redirect_uri: callback,
    scopes: ['openid', 'profile', 'groups'],
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  idp?.stop();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the login page signs in through the identity provider', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/ui/`);
  await page.getByLabel('Tenant').fill('nobody');
  await page.waitForTimeout(800);
  assert.equal(await page.getByRole('button', { name: /Sign in with/ }).count(), 0);
  await page.getByLabel('Tenant').fill(TENANT);
  const sso = page.getByRole('button', { name: 'Sign in with 127.0.0.1' });
  await sso.waitFor();
  await page.screenshot({ path: join(shots, 'sso-login.png') });
  await sso.click();
  // The provider's own login page.
  await page.locator('input[name=login]').waitFor();
  await page.locator('input[name=login]').fill('dana-sub');
  await page.locator('input[name=password]').fill('dana-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('dana · no roles').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
  await page.screenshot({ path: join(shots, 'sso-signed-in.png') });
  await page.close();
});
