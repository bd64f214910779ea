// The console's "Sign-in (SSO)" page in a real browser, against the real server binary and
// the real test OpenID provider (tests/oidc-provider): the infra_admin connects the provider
// and writes a group rule through the page; a person of that group signs in through the
// console's SSO button and holds the role the rule gives; the rule deleted in the page, the
// next sign-in holds nothing. The client secret never comes back into the page; the
// server's refusal is shown by its field; a security_engineer reads without changing; a
// model_ops sees no link and "Not allowed".

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { navLinks, shots, signIn } from './browser.mjs';
import { providerSuite, signInWithProvider } from './idp.mjs';
import { ADMIN, PASSWORD, TENANT } from './server.mjs';

const SECRET = 'provider-client-secret-7Qx4821';
const HINT = '…4821';
const GROUP = 'ai-platform-ops';
const API_AUDIENCE = 'https://switchyard.test/api';
const USER_PASSWORD = 'a long enough password';
const LINK = 'Sign-in (SSO)';

let server;
let idp;
let browser;
let callback;
/** The infra_admin's page, kept across the tests that follow each other. */
let admin;
let platform;

providerSuite({
  secret: SECRET,
  users: { 'pat-sub': { password: 'pat-pw', claims: { preferred_username: 'pat', groups: [GROUP, 'staff'] } } },
  setup: seed,
});

/** Department `platform` and a model_ops and a security_engineer user, through the API. */
async function seed(suite) {
  ({ server, idp, browser, callback } = suite);
  const root = (await server.api('GET', '/departments?limit=500')).items.find((d) => d.parent_id === null);
  platform = await server.api('POST', '/departments', { name: 'platform', parent_id: root.id });
  platform.path = `/${root.name}/platform`;
  for (const role of ['model_ops', 'security_engineer']) {
    const user = await server.api('POST', '/users', { username: role, password: USER_PASSWORD });
    await server.api('PATCH', `/users/${user.id}`, { bindings: [{ role }] });
  }
}

/** `GET /api/v1/sso`, or null when the tenant has no provider (404). */
async function ssoSettings() {
  try {
    return await server.api('GET', '/sso');
  } catch (e) {
    if (/ 404 /.test(e.message)) return null;
    throw e;
  }
}

/** Neither the page's HTML nor any of its fields' values holds the client secret. */
async function assertNoSecret(page) {
  assert.ok(!(await page.content()).includes(SECRET), 'the secret is not in the HTML');
  const values = await page.locator('input, textarea').evaluateAll((els) => els.map((e) => e.value));
  assert.ok(!values.some((v) => v.includes(SECRET)), 'the secret is in no field');
  assert.ok(!(await page.evaluate(() => document.body.innerText)).includes(SECRET));
}

/** A fresh browser (no session, no provider cookies) signed in through the provider as
 * `pat`; resolves the page and its session token. */
async function patSignsIn(roles) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/ui/`);
  await signInWithProvider(page, TENANT, 'pat-sub', 'pat-pw');
  await page.getByText(`pat · ${roles}`).waitFor();
  const token = await page.evaluate(() => sessionStorage.getItem('switchyard.token'));
  return { page, token };
}

async function me(token) {
  const r = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return r.json();
}

test('infra_admin connects the provider: refusals by their field, the secret never shown back', async () => {
  admin = await signIn(browser, server.url, ADMIN, PASSWORD);
  await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  assert.ok((await navLinks(admin)).includes(LINK));
  await admin.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: LINK }).click();
  await admin.getByRole('heading', { name: LINK, level: 1 }).waitFor();
  assert.equal(new URL(admin.url()).pathname, '/ui/sso');
  await admin.getByText('No provider is connected').waitFor();

  // The callback to register, as the server's route answers it, copied by its button.
  assert.equal(await admin.getByRole('textbox', { name: 'Callback URL', exact: true }).inputValue(), callback);
  assert.equal(await admin.getByLabel('Callback URL (redirect URI)').inputValue(), callback);
  await admin.getByRole('button', { name: 'Copy' }).click();
  await admin.getByText('Copied.').waitFor();
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), callback);

  const form = admin.getByRole('form', { name: 'Connect a provider' });
  // An http issuer on a host that is not loopback: the server refuses it, naming the field.
  await form.getByLabel('Issuer URL').fill('http://login.example.com/realms/acme');
  await form.getByLabel('Client id').fill('switchyard');
  await form.getByLabel('Client secret').fill(SECRET);
  await form.getByLabel('Scopes').fill('openid profile groups');
  await form.getByLabel('API audience for service tokens').fill(API_AUDIENCE);
  // SSO required without a break-glass user is caught before asking the server.
  await form.getByLabel('SSO required').check();
  await form.getByRole('button', { name: 'Save settings' }).click();
  await admin.locator('#sso-break_glass-error').getByText('name at least one break-glass user').waitFor();
  // The admin editing is warned before locking out their own password, until named.
  const lockout = form.getByText(`You (${ADMIN}) are not a break-glass user`);
  await form.getByLabel('Break-glass users').fill('root');
  await lockout.waitFor();
  await form.getByLabel('Break-glass users').fill(`root, ${ADMIN}`);
  await lockout.waitFor({ state: 'detached' });
  await form.getByLabel('Break-glass users').fill('');
  await form.getByLabel('SSO required').uncheck();
  await form.getByRole('button', { name: 'Save settings' }).click();
  const issuerError = admin.locator('#sso-issuer-error');
  await issuerError.waitFor();
  assert.match(await issuerError.textContent(), /must be https \(http only on a loopback address\)/);
  assert.equal(await form.getByLabel('Issuer URL').getAttribute('aria-invalid'), 'true');
  assert.match(await form.getByLabel('Issuer URL').getAttribute('aria-describedby'), /sso-issuer-error/);
  await admin.screenshot({ path: join(shots, 'sso-settings-refused.png'), fullPage: true });
  assert.equal(await ssoSettings(), null, 'nothing stored');

  await form.getByLabel('Issuer URL').fill(idp.issuer);
  await form.getByRole('button', { name: 'Save settings' }).click();
  const saved = admin.getByRole('form', { name: 'Provider settings' });
  await saved.getByText(`Set (${HINT})`).waitFor();
  const stored = await ssoSettings();
  await saved.getByText(`Last saved ${new Date(stored.updated_at).toISOString().replace('T', ' ').slice(0, 19)} UTC.`).waitFor();
  assert.deepEqual(
    { ...stored, created_at: 0, updated_at: 0 },
    {
      issuer: idp.issuer,
      client_id: 'switchyard',
      redirect_uri: callback,
      client_secret_hint: HINT,
      scopes: ['openid', 'profile', 'groups'],
      groups_claim: 'groups',
      sso_required: false,
      break_glass: [],
      api_audience: API_AUDIENCE,
      created_at: 0,
      updated_at: 0,
    },
  );
  assert.equal(await saved.getByLabel('Issuer URL').inputValue(), idp.issuer);
  assert.equal(await saved.getByLabel('Client secret').inputValue(), '');
  await assertNoSecret(admin);
  // Saved again without typing a secret: the one set is kept.
  await saved.getByLabel('Groups claim').fill('groups');
  await saved.getByRole('button', { name: 'Save settings' }).click();
  let again = stored;
  for (let i = 0; i < 50 && again.updated_at === stored.updated_at; i++) {
    await new Promise((r) => setTimeout(r, 100));
    again = await ssoSettings();
  }
  assert.ok(again.updated_at > stored.updated_at, 'saved a second time');
  assert.equal(again.client_secret_hint, HINT);
  await saved.getByText(`Set (${HINT})`).waitFor();
  await assertNoSecret(admin);
  await admin.screenshot({ path: join(shots, 'sso-settings.png'), fullPage: true });
});

test('a group rule written in the page gives its role at sign-in; deleted, the next sign-in holds nothing', async () => {
  const form = admin.getByRole('form', { name: 'Add a rule' });
  await form.getByLabel('Group (as in the groups claim)').fill(GROUP);
  await form.getByLabel('Role').selectOption('model_ops');
  await form.getByLabel('Scope').selectOption({ label: `${platform.path} and below` });
  const explained = `People in group ${GROUP} get model_ops on ${platform.path} and below, at their next sign-in.`;
  await form.getByText(`This rule: ${explained}`).waitFor();
  await form.getByRole('button', { name: 'Add rule' }).click();
  const rules = admin.getByRole('table', { name: 'Rules' });
  await rules.getByRole('cell', { name: explained, exact: true }).waitFor();
  // A service's rule: listed after the people's.
  await form.getByLabel('Kind').selectOption('client');
  await form.getByRole('textbox', { name: 'Client id' }).fill('billing-batch');
  await form.getByLabel('Role').selectOption('resource_manager');
  await form.getByLabel('Scope').selectOption({ label: 'Whole tenant' });
  await form.getByRole('button', { name: 'Add rule' }).click();
  const serviceExplained = 'The service with client id billing-batch gets resource_manager on the whole tenant, from its next call.';
  await rules.getByRole('cell', { name: serviceExplained, exact: true }).waitFor();
  assert.deepEqual(
    await rules.locator('tbody tr td:nth-child(5)').allTextContents(),
    [explained, serviceExplained],
    'people’s rules first',
  );
  const stored = (await server.api('GET', '/sso/rules')).map(({ kind, group, role, department_id }) => ({ kind, group, role, department_id }));
  assert.deepEqual(
    stored.sort((a, b) => a.kind.localeCompare(b.kind)),
    [
      { kind: 'client', group: 'billing-batch', role: 'resource_manager', department_id: null },
      { kind: 'group', group: GROUP, role: 'model_ops', department_id: platform.id },
    ],
  );
  await admin.screenshot({ path: join(shots, 'sso-rules.png'), fullPage: true });

  // The person of that group signs in through the console's button.
  const first = await patSignsIn('model_ops');
  const held = await me(first.token);
  assert.deepEqual(held.bindings.map(({ role, department_id }) => ({ role, department_id })), [
    { role: 'model_ops', department_id: platform.id },
  ]);
  assert.ok(!held.permissions.includes('sso.read'));
  assert.ok(!(await navLinks(first.page)).includes(LINK), 'model_ops has no SSO link');
  await first.page.screenshot({ path: join(shots, 'sso-rule-signed-in.png'), fullPage: true });

  // The rule deleted in the page.
  await admin.getByRole('button', { name: `Delete the rule: ${explained}` }).click();
  await rules.getByRole('cell', { name: explained, exact: true }).waitFor({ state: 'detached' });
  assert.deepEqual((await server.api('GET', '/sso/rules')).map((r) => r.group), ['billing-batch']);
  // Nothing changes before the next sign-in; after it, the role is gone from every session.
  assert.equal((await me(first.token)).bindings.length, 1);
  const second = await patSignsIn('no roles');
  assert.deepEqual((await me(second.token)).bindings, []);
  assert.deepEqual((await me(first.token)).bindings, []);
  await first.page.context().close();
  await second.page.context().close();
});

test('security_engineer reads the settings and the rules but changes nothing', async () => {
  const page = await signIn(browser, server.url, 'security_engineer', USER_PASSWORD);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: LINK }).click();
  await page.getByRole('heading', { name: LINK, level: 1 }).waitFor();
  await page.getByText(`set (${HINT})`).waitFor();
  await page.getByText(idp.issuer, { exact: true }).waitFor();
  await page.getByRole('cell', { name: /The service with client id billing-batch/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Save settings|Add rule|Delete/ }).count(), 0);
  assert.equal(await page.getByRole('form').count(), 0);
  await assertNoSecret(page);
  await page.screenshot({ path: join(shots, 'sso-settings-read-only.png'), fullPage: true });
  await page.close();
});

test('a rule is added and deleted from the keyboard alone', async () => {
  const form = admin.getByRole('form', { name: 'Add a rule' });
  await form.getByLabel('Kind').focus();
  await admin.keyboard.press('ArrowDown'); // a service (client id)
  await admin.keyboard.press('Tab');
  await admin.keyboard.type('deployer');
  await admin.keyboard.press('Tab');
  await admin.keyboard.type('model'); // the role select's type-ahead
  await admin.keyboard.press('Tab'); // the scope: whole tenant
  await admin.keyboard.press('Tab');
  await admin.keyboard.press('Enter');
  const explained = 'The service with client id deployer gets model_ops on the whole tenant, from its next call.';
  const rules = admin.getByRole('table', { name: 'Rules' });
  await rules.getByRole('cell', { name: explained, exact: true }).waitFor();
  const stored = (await server.api('GET', '/sso/rules')).find((r) => r.group === 'deployer');
  assert.deepEqual([stored.kind, stored.role, stored.department_id], ['client', 'model_ops', null]);
  await admin.getByRole('button', { name: `Delete the rule: ${explained}` }).focus();
  await admin.keyboard.press('Enter');
  await rules.getByRole('cell', { name: explained, exact: true }).waitFor({ state: 'detached' });
  assert.deepEqual((await server.api('GET', '/sso/rules')).map((r) => r.group), ['billing-batch']);
});

test('model_ops sees no link and "Not allowed"; the page at 390 px', async () => {
  const page = await signIn(browser, server.url, 'model_ops', USER_PASSWORD, { width: 390, height: 800 });
  assert.ok(!(await navLinks(page)).includes(LINK));
  await page.goto(`${server.url}/ui/sso`);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  assert.match(await page.getByRole('alert').textContent(), /sso\.read/);
  await page.screenshot({ path: join(shots, 'sso-settings-denied.png'), fullPage: true });
  await page.close();

  await admin.setViewportSize({ width: 390, height: 800 });
  await admin.reload();
  await admin.getByRole('form', { name: 'Provider settings' }).waitFor();
  // Nothing wider than the screen but the rules table, which scrolls inside the page.
  await admin.screenshot({ path: join(shots, 'sso-settings-narrow.png'), fullPage: true });
  const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
});

test('infra_admin disconnects the provider, asked twice; the rules stay', async () => {
  await admin.setViewportSize({ width: 1280, height: 800 });
  await admin.getByRole('button', { name: 'Disconnect the provider' }).click();
  await admin.getByRole('button', { name: 'Cancel' }).click();
  assert.notEqual(await ssoSettings(), null, 'cancelled: still connected');
  await admin.getByRole('button', { name: 'Disconnect the provider' }).click();
  await admin.getByRole('button', { name: 'Yes, disconnect' }).click();
  await admin.getByText('No provider is connected').waitFor();
  await admin.getByRole('form', { name: 'Connect a provider' }).waitFor();
  assert.equal(await ssoSettings(), null);
  assert.deepEqual((await server.api('GET', '/sso/rules')).map((r) => r.group), ['billing-batch']);
  // The login page no longer offers the provider.
  const r = await fetch(`${server.url}/api/v1/auth/oidc/provider?tenant=${TENANT}`);
  assert.equal(r.status, 404);
});
