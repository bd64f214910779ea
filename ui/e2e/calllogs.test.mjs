// The call-logs page in a real browser (Debian's Chromium via playwright-core) against the
// real server binary, seeded through real POST /sdk/v1/usage batches carrying content:
// the list and its filters, one call as a conversation with its JSON on demand, the policy
// editor, the audit record a read leaves, and a role without call_log.read kept out.
// Screenshots: .run/ui-screenshots/call-logs*.png.

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launch, shots, signIn as signInAs } from './browser.mjs';
import { ADMIN, PASSWORD, startServer } from './server.mjs';

let server;
let browser;
let app;

/** A usage event of the app's, at `ago` ms before now, with call-log content. */
function call(ago, prompt, answer, extra = {}) {
  return {
    id: randomUUID(), time_ms: Date.now() - ago, tenant: null, app: null, user: 'alice',
    model: 'chat', deployment: 'openai/gpt-4o-mini', provider: 'openai', upstream_model: 'gpt-4o-mini',
    prompt_tokens: 42, completion_tokens: 9, cached_tokens: 0, cost_usd: 0.00012, latency_ms: 640,
    ttft_ms: 120, status: 'ok', cache_hit: false, attempts: 1, fallback: null, fallbacks: 0, arm: null,
    local: false, stream: false, tags: ['feature:support'], metadata: {},
    content: {
      request: {
        model: 'chat', temperature: 0.2,
        messages: [
          { role: 'system', content: 'You are the support assistant.' },
          { role: 'user', content: prompt },
        ],
      },
      response: answer === null ? null : { content: answer, finish_reason: 'stop' },
      error: null, redacted: true, truncated: false, original_bytes: 300,
    },
    ...extra,
  };
}

before(async () => {
  server = await startServer({ env: { SWITCHYARD_MASTER_KEY: randomBytes(32).toString('base64') } });
  browser = await launch();
  const root = (await server.api('GET', '/departments')).items[0].id;
  app = await server.api('POST', '/apps', { department_id: root, name: 'support-bot' });
  const key = (await server.api('POST', `/apps/${app.id}/keys`, { name: 'sdk' })).secret;
  await server.api('PUT', `/apps/${app.id}/call-logs`, { content: 'all' });
  const failed = call(60_000, 'Cancel my subscription please', null, {
    status: { error: { code: 'timeout' } },
  });
  failed.content.error = 'the upstream timed out';
  const events = [
    call(180_000, 'Where is my order 1234?', 'Order 1234 shipped yesterday; it arrives Friday.'),
    call(120_000, 'What is your refund policy?', 'Refunds within 30 days.', { cache_hit: true, user: 'bob' }),
    failed,
  ];
  const r = await fetch(`${server.url}/sdk/v1/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dropped: 0, events }),
  });
  assert.equal(r.status, 200, await r.text());
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const signIn = (username, password) => signInAs(browser, server.url, username, password);

test('the admin searches the logged calls and reads one as a conversation', async () => {
  const page = await signIn(ADMIN, PASSWORD);
  await page.getByRole('link', { name: 'Call logs' }).click();
  const table = page.getByRole('table', { name: 'Logged calls' });
  await table.getByRole('cell', { name: 'Where is my order 1234?' }).waitFor();
  assert.equal(await table.getByRole('row').count(), 4); // the head and three calls
  await table.getByRole('cell', { name: 'error: timeout' }).waitFor();
  await table.getByRole('cell', { name: 'cache', exact: true }).waitFor();
  await page.screenshot({ path: `${shots}/call-logs.png`, fullPage: true });

  // Filters: the failed calls, then a text search in the answers.
  const search = page.getByRole('form', { name: 'Search call logs' });
  await search.getByLabel('Outcome').selectOption('error');
  await search.getByRole('button', { name: 'Search' }).click();
  const filtered = page.getByRole('table', { name: 'Logged calls (filtered)' });
  // The caption changes at once, the rows when the answer comes: wait for those to go.
  await filtered.getByRole('cell', { name: 'Where is my order 1234?' }).waitFor({ state: 'detached' });
  await filtered.getByRole('cell', { name: 'Cancel my subscription please' }).waitFor();
  assert.equal(await filtered.getByRole('row').count(), 2);
  await search.getByLabel('Outcome').selectOption('');
  await search.getByLabel('Text contains').fill('arrives friday');
  await search.getByRole('button', { name: 'Search' }).click();
  await filtered.getByRole('cell', { name: 'Cancel my subscription please' }).waitFor({ state: 'detached' });
  await filtered.getByRole('cell', { name: 'Where is my order 1234?' }).waitFor();
  assert.equal(await filtered.getByRole('row').count(), 2);

  // One call: the conversation, its usage, and the JSON on demand.
  await filtered.getByRole('link').first().click();
  const conversation = page.getByRole('region', { name: 'Conversation' });
  await conversation.getByText('Order 1234 shipped yesterday; it arrives Friday.').waitFor();
  await conversation.getByText('You are the support assistant.').waitFor();
  await page.getByRole('cell', { name: '42 in, 9 out' }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/ui\/call-logs\/[0-9a-f-]{36}$/);
  assert.equal(await page.getByLabel('Call JSON').isVisible(), false);
  await page.getByText('Request and answer as JSON').click();
  assert.match(await page.getByLabel('Call JSON').textContent(), /"temperature": 0.2/);
  await page.screenshot({ path: `${shots}/call-logs-call.png`, fullPage: true });

  // The read is on the audit log, under the admin's name.
  const audit = await server.api('GET', '/audit?action=call_log.read');
  assert.equal(audit.items.length, 1);
  assert.equal(audit.items[0].actor, ADMIN);
  assert.equal(new URL(page.url()).pathname, `/ui/call-logs/${audit.items[0].target}`);
  await page.close();
});

test('a failed call shows its error instead of an answer', async () => {
  const page = await signIn(ADMIN, PASSWORD);
  await page.goto(`${server.url}/ui/call-logs`);
  const row = page.getByRole('row').filter({ hasText: 'Cancel my subscription please' });
  await row.getByRole('link').click();
  await page.getByRole('note').getByText('the upstream timed out').waitFor();
  await page.close();
});

test('the admin sets an app’s policy in the editor', async () => {
  const page = await signIn(ADMIN, PASSWORD);
  await page.goto(`${server.url}/ui/call-logs`);
  const editor = page.getByRole('region', { name: 'Call-log policy' });
  await editor.getByLabel('Policy of app').selectOption({ label: 'support-bot' });
  const form = editor.getByRole('form', { name: 'Call-log policy' });
  await form.getByLabel('Log content').selectOption('sample');
  await form.getByLabel('Sample rate (0 to 1)').fill('0.25');
  await form.getByLabel('Retention (days)').fill('3');
  await form.getByRole('button', { name: 'Save policy' }).click();
  await form.getByText('Saved').waitFor();
  const policy = await server.api('GET', `/apps/${app.id}/call-logs`);
  assert.deepEqual(policy.content, { sample: 0.25 });
  assert.equal(policy.retention_days, 3);
  // A rate out of range is refused with the server's message, and nothing changes.
  await form.getByLabel('Sample rate (0 to 1)').fill('4');
  await form.getByRole('button', { name: 'Save policy' }).click();
  await form.getByRole('alert').getByText(/between 0 and 1/).waitFor();
  await page.screenshot({ path: `${shots}/call-logs-policy.png`, fullPage: true });
  assert.deepEqual((await server.api('GET', `/apps/${app.id}/call-logs`)).content, { sample: 0.25 });
  await page.close();
});

test('a resource manager has no call logs to open', async () => {
  const user = await server.api('POST', '/users', { username: 'rm', password: 'a long enough password' });
  await server.api('PATCH', `/users/${user.id}`, { bindings: [{ role: 'resource_manager' }] });
  const page = await signIn('rm', 'a long enough password');
  const links = await page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents();
  assert.ok(!links.includes('Call logs'), links.join(', '));
  await page.goto(`${server.url}/ui/call-logs`);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  assert.equal(await page.getByText('Where is my order').count(), 0);
  await page.screenshot({ path: `${shots}/call-logs-forbidden.png` });
  await page.close();
});
