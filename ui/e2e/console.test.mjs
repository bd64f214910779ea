// The console in a real browser: Debian's Chromium driven by playwright-core (which never
// downloads a browser) against the real server binary. Screenshots go to
// .run/ui-screenshots/ (ignored), one per page visited.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, navLinks, permissionsOf, shots, signIn as signInTo } from './browser.mjs';
import { visiblePages } from './nav-pages.mjs';
import { ADMIN, PASSWORD, TENANT, startServer } from './server.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const signIn = (username, password, viewport) => signInTo(browser, server.url, username, password, viewport);

/** The links nav.ts shows for `permissions`: the pages other suites add join in. */
const linksFor = (permissions) => visiblePages(permissions).map((p) => p.title);

test('a wrong password is refused with a message', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}/ui/`);
  await page.getByLabel('Tenant').fill(TENANT);
  await page.getByLabel('Username').fill(ADMIN);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').waitFor();
  await page.screenshot({ path: `${shots}/login-refused.png` });
  await page.close();
});

test('the admin sees every page, each with real data', async () => {
  const page = await signIn(ADMIN, PASSWORD);
  const me = await server.api('GET', '/me');
  assert.deepEqual(await navLinks(page), linksFor(me.permissions));
  for (const title of ['Apps and keys', 'Users and roles', 'Departments', 'Config versions', 'Audit log', 'Security events']) {
    assert.ok((await navLinks(page)).includes(title), title);
  }
  // Landing: the first page. Each page's table shows what the seeded server holds.
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Users and roles' }).click();
  await page.getByRole('cell', { name: ADMIN, exact: true }).waitFor();
  await page.getByText('infra_admin (whole tenant)').waitFor();
  await page.screenshot({ path: `${shots}/users.png`, fullPage: true });
  await page.getByRole('link', { name: 'Departments' }).click();
  await page.getByRole('table').getByRole('row').nth(1).waitFor();
  await page.screenshot({ path: `${shots}/departments.png`, fullPage: true });
  await page.getByRole('link', { name: 'Config versions' }).click();
  const v1 = page.getByRole('row').filter({ hasText: 'demo' });
  await v1.getByText('active').waitFor();
  await v1.getByRole('link', { name: '1' }).click();
  await page.getByRole('heading', { name: 'Version 1' }).waitFor();
  assert.match(await page.getByLabel('Document of version 1').textContent(), /"models"/);
  assert.equal(new URL(page.url()).pathname, '/ui/configs/1');
  await page.screenshot({ path: `${shots}/configs.png`, fullPage: true });
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: 'config.activate' }).first().waitFor();
  await page.getByLabel('Action').fill('config.activate');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('table', { name: 'Audit records for config.activate' }).waitFor();
  await page.screenshot({ path: `${shots}/audit.png`, fullPage: true });
  // The refused sign-in of the first test is a security event of the tenant.
  await page.getByRole('link', { name: 'Security events' }).click();
  await page.getByRole('cell', { name: 'auth.failed.login' }).first().waitFor();
  await page.getByRole('cell', { name: `${TENANT}/${ADMIN}` }).first().waitFor();
  await page.screenshot({ path: `${shots}/security-events.png`, fullPage: true });
  await page.close();
});

test('the admin creates an app and a key, sees the secret once, and revokes the key', async () => {
  const page = await signIn(ADMIN, PASSWORD);
  await page.getByRole('link', { name: 'Apps and keys' }).click();
  await page.getByRole('heading', { name: 'Apps and keys' }).waitFor();
  const form = page.getByRole('form', { name: 'New app' });
  await form.getByLabel('Name').fill('browser-made');
  await form.getByRole('button', { name: 'Create app' }).click();
  await page.getByRole('cell', { name: 'browser-made' }).waitFor();

  const keyForm = page.getByRole('form', { name: 'New key for browser-made' });
  await keyForm.getByLabel('Key name').fill('ci');
  await keyForm.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.getByLabel('New key secret').textContent()).trim();
  assert.ok(secret.length > 20, secret);
  await page.screenshot({ path: `${shots}/apps-key-created.png`, fullPage: true });
  // The server agrees: the key exists, and only its prefix is kept.
  const apps = await server.api('GET', '/apps');
  const app = apps.items.find((a) => a.name === 'browser-made');
  const keys = await server.api('GET', `/apps/${app.id}/keys`);
  assert.equal(keys.length, 1);
  assert.ok(secret.startsWith(`sy_${keys[0].prefix}_`), `${secret} / ${keys[0].prefix}`);
  // Shown once: dismissed, it is gone from the page, and a reload does not bring it back.
  await page.getByRole('button', { name: 'I have stored it' }).click();
  assert.equal(await page.getByText(secret).count(), 0);

  await page.getByRole('button', { name: 'Revoke key ci of browser-made' }).click();
  await page.getByText(/^revoked /).waitFor();
  assert.ok((await server.api('GET', `/apps/${app.id}/keys`))[0].revoked_at);
  await page.reload();
  await page.getByRole('heading', { name: 'Apps and keys' }).waitFor();
  assert.equal(await page.getByText(secret).count(), 0);
  await page.close();
});

test('the admin adds a user and gives it a role, and the user signs in with it', async () => {
  const page = await signIn(ADMIN, PASSWORD);
  await page.getByRole('link', { name: 'Users and roles' }).click();
  const form = page.getByRole('form', { name: 'New user' });
  await form.getByLabel('Username').fill('ops');
  await form.getByLabel('Initial password').fill('another long password');
  await form.getByRole('button', { name: 'Create user' }).click();
  await page.getByRole('cell', { name: 'ops', exact: true }).waitFor();
  const bind = page.getByRole('form', { name: 'Add a role binding' });
  await bind.getByLabel('User').selectOption({ label: 'ops' });
  await bind.getByLabel('Role').selectOption('model_ops');
  await bind.getByRole('button', { name: 'Add binding' }).click();
  await page.getByText('model_ops (whole tenant)').waitFor();
  await page.close();
  // model_ops: apps (read), departments, config versions, budgets (read) and capacity; no users, no audit.
  const ops = await signIn('ops', 'another long password');
  assert.deepEqual(await navLinks(ops), linksFor(await permissionsOf(server.url, 'ops', 'another long password')));
  assert.ok((await navLinks(ops)).includes('Config versions'));
  assert.ok(!(await navLinks(ops)).includes('Users and roles'));
  await ops.screenshot({ path: `${shots}/model-ops-apps.png`, fullPage: true });
  await ops.close();
});

test('the admin activates another config version', async () => {
  const v1 = await server.api('GET', '/configs/1');
  await server.api('POST', '/configs', { document: v1.document, label: 'second' });
  const page = await signIn(ADMIN, PASSWORD);
  await page.getByRole('link', { name: 'Config versions' }).click();
  await page.getByRole('button', { name: 'Activate version 2' }).click();
  // The marks move: version 2 is active, version 1 may be activated again.
  await page.getByRole('button', { name: 'Activate version 1' }).waitFor();
  await page.getByRole('row').filter({ hasText: 'second' }).getByText('active').waitFor();
  const active = await server.api('GET', '/configs/active');
  assert.equal(active.version.number, 2);
  await page.close();
});

test('an app developer sees only its pages, and a clear message on another', async () => {
  const user = await server.api('POST', '/users', { username: 'dev', password: 'a long enough password' });
  await server.api('PATCH', `/users/${user.id}`, { bindings: [{ role: 'app_developer' }] });
  // Narrow screen: the navigation wraps above the page.
  const page = await signIn('dev', 'a long enough password', { width: 390, height: 800 });
  assert.deepEqual(await navLinks(page), linksFor(await permissionsOf(server.url, 'dev', 'a long enough password')));
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Apps and keys' }).click();
  await page.getByRole('heading', { name: 'Apps and keys' }).waitFor();
  // No key or app controls without key.read/app.write.
  assert.equal(await page.getByRole('form', { name: 'New app' }).count(), 0);
  await page.screenshot({ path: `${shots}/app-developer-apps.png`, fullPage: true });
  await page.goto(`${server.url}/ui/audit`);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  assert.match(await page.getByRole('alert').textContent(), /audit\.read/);
  await page.screenshot({ path: `${shots}/app-developer-audit-denied.png`, fullPage: true });
  await page.close();
});

test('the keyboard alone signs in and moves through the navigation', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/ui/`);
  await page.getByLabel('Tenant').focus();
  await page.keyboard.type(TENANT);
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  await page.getByRole('link', { name: 'Departments' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Departments', level: 1 }).waitFor();
  await page.close();
});
