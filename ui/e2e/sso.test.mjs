// Signing in to the console through the tenant's identity provider, in a real browser: the
// test OpenID provider (tests/oidc-provider, the oidc-provider package) on 127.0.0.1, the
// tenant connected to it; the login page offers "Sign in with <provider>" once the tenant
// is typed, the provider's own login page takes the password, and the console opens signed
// in as the provisioned user. A wrong tenant shows no such button.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { shots } from './browser.mjs';
import { providerSuite } from './idp.mjs';
import { TENANT } from './server.mjs';

const suite = providerSuite({
  secret: 'client-secret',
  users: { 'dana-sub': { password: 'dana-pw', claims: { preferred_username: 'dana', groups: ['ops'] } } },
  setup: ({ server, idp, callback }) =>
    server.api('PUT', '/sso', {
      issuer: idp.issuer,
      client_id: 'switchyard',
      client_secret: 'client-secret',
      redirect_uri: callback,
      scopes: ['openid', 'profile', 'groups'],
    }),
});

test('the login page signs in through the identity provider', async () => {
  const page = await suite.browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${suite.server.url}/ui/`);
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
