// The operations pages in a real browser against the real server, seeded through the real
// APIs (seed-ops.mjs): the config editor with an issue shown at its line, saving, the diff,
// activating and rolling back; a rollout's steps, arms and moves; alerts; the audit log's
// filters and chain verification. Each action is checked on the server afterwards.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shots, signIn as signInTo } from './browser.mjs';
import { ROLE_PASSWORD, seededSuite, startRollout, until } from './seed-ops.mjs';
import { ADMIN, PASSWORD } from './server.mjs';

const suite = seededSuite();

const signIn = (username, password, viewport) => signInTo(suite.browser, suite.server.url, username, password, viewport);

test('a config is edited with an error shown at its line, fixed, saved, compared, activated and rolled back', async () => {
  const before = await suite.server.api('GET', '/configs/active');
  const page = await signIn('model_ops', ROLE_PASSWORD);
  await page.getByRole('link', { name: 'Config versions' }).click();
  await page.getByRole('link', { name: 'Edit a new version' }).click();
  const area = page.getByLabel('Config YAML');
  await area.waitFor();
  const text = await area.inputValue();
  assert.match(text, /^version: 1$/m);

  // A deployment naming a provider that does not exist: the server places it at its line.
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^ +(- )?provider: openai$/.test(l));
  assert.ok(at > 0, text);
  const badLine = at + 1;
  lines[at] = lines[at].replace('openai', 'openia');
  await area.fill(lines.join('\n'));
  await page.getByRole('button', { name: 'Check' }).click();
  await page.getByRole('heading', { name: /^1 issue/ }).waitFor();
  const flagged = await page.locator('.gutter .flag').evaluateAll((els) => els.map((e) => Number(e.dataset.line)));
  assert.deepEqual(flagged, [badLine]);
  assert.match(await page.locator(`.notes [data-line="${badLine}"]`).textContent(), /openia/);
  await page.screenshot({ path: `${shots}/ops-config-issue.png`, fullPage: true });
  // Keyboard: the issue's button puts the caret at the start of its line.
  await page.getByRole('button', { name: `Line ${badLine}` }).focus();
  await page.keyboard.press('Enter');
  const caret = await area.evaluate((el) => [document.activeElement === el, el.selectionStart]);
  assert.deepEqual(caret, [true, lines.slice(0, at).join('\n').length + 1]);

  // Saving it anyway is refused with the same line.
  await page.getByRole('button', { name: 'Save as new version' }).click();
  await page.getByRole('alert').filter({ hasText: `line ${badLine}:` }).waitFor();
  assert.equal((await suite.server.api('GET', '/configs?limit=500')).items.length, before.version.number);

  // Fixed, and a real change: the chat model retries three times instead of two.
  lines[at] = lines[at].replace('openia', 'openai');
  const retry = lines.findIndex((l) => /max_attempts: 2$/.test(l));
  assert.ok(retry > 0, text);
  lines[retry] = lines[retry].replace('2', '3');
  await area.fill(lines.join('\n'));
  await page.getByRole('button', { name: 'Check' }).click();
  await page.getByText('No issues.').waitFor();
  assert.equal(await page.locator('.gutter .flag').count(), 0);
  await page.getByLabel('Label').fill('three attempts');
  await page.getByRole('button', { name: 'Save as new version' }).click();

  // The diff against the version it started from: one line out, one in.
  const saved = before.version.number + 1;
  await page.getByRole('heading', { name: `Changes from version ${before.version.number} to version ${saved}` }).waitFor();
  const diff = page.getByRole('table', { name: /^Changes from/ });
  assert.match(await diff.locator('tr.del').textContent(), /max_attempts: 2/);
  assert.match(await diff.locator('tr.add').textContent(), /max_attempts: 3/);
  await page.getByText('1 line added, 1 removed.').waitFor();
  await page.screenshot({ path: `${shots}/ops-config-diff.png`, fullPage: true });
  const stored = await suite.server.api('GET', `/configs/${saved}`);
  assert.equal(stored.label, 'three attempts');
  assert.equal(stored.document.models.chat.retry.max_attempts, 3);

  // Any two versions: the first against the saved one, chosen in the form.
  const compare = page.getByRole('form', { name: 'Compare versions' });
  await compare.getByLabel('From').selectOption('1');
  await compare.getByLabel('To').selectOption(String(saved));
  await compare.getByRole('button', { name: 'Compare' }).click();
  await page.getByRole('heading', { name: `Changes from version 1 to version ${saved}` }).waitFor();
  await diff.locator('tr.add').nth(1).waitFor();

  // Activate it, then roll back to the one active before.
  await page.getByRole('button', { name: `Activate version ${saved}` }).click();
  await page.getByRole('button', { name: `Roll back to version ${before.version.number}` }).waitFor();
  assert.equal((await suite.server.api('GET', '/configs/active')).version.number, saved);
  await page.getByRole('button', { name: `Roll back to version ${before.version.number}` }).click();
  await page.getByRole('button', { name: `Activate version ${saved}` }).waitFor();
  assert.equal((await suite.server.api('GET', '/configs/active')).version.number, before.version.number);
  await page.close();
});

test('the editor is usable on a narrow screen', async () => {
  const page = await signIn(ADMIN, PASSWORD, { width: 390, height: 800 });
  await page.goto(`${suite.server.url}/ui/configs/new`);
  const area = page.getByLabel('Config YAML');
  await area.waitFor();
  await area.fill('version: 1\nmodels:\n  x:\n    deployments:\n      - provider: nowhere\n        model: m\n');
  await page.getByRole('button', { name: 'Check' }).click();
  await page.getByRole('button', { name: 'Line 5' }).waitFor();
  const box = await area.boundingBox();
  assert.ok(box.width > 200, JSON.stringify(box));
  await page.screenshot({ path: `${shots}/ops-config-narrow.png`, fullPage: true });
  await page.close();
});

test('a rollout shows its steps and arms, and is paused, resumed and aborted; another is promoted', async () => {
  const { rollout } = suite.seeded;
  const report = await suite.server.api('GET', `/rollouts/${rollout.id}/report`);
  const page = await signIn('model_ops', ROLE_PASSWORD);
  await page.getByRole('link', { name: 'Rollouts' }).click();
  await page.getByRole('link', { name: 'canary-v2' }).click();
  await page.getByRole('heading', { name: 'Rollout canary-v2' }).waitFor();
  // Steps: the first is current, the others pending.
  const steps = page.getByRole('list', { name: 'Steps' }).getByRole('listitem');
  assert.equal(await steps.count(), 3);
  assert.match(await steps.nth(0).textContent(), /Step 1: 10%.*running/);
  assert.match(await steps.nth(2).textContent(), /pending/);
  // The arms' figures are the report's, from the usage posted with the app key.
  const arms = page.getByRole('table', { name: 'Arms since the rollout began' });
  const row = (arm) => arms.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${arm} `) }) });
  assert.match(await row('v1').textContent(), new RegExp(`^v1 \\(baseline\\)${report.baseline.calls}0`));
  assert.match(await row('v2').textContent(), new RegExp(`^v2 \\(candidate\\)${report.candidate.calls}${report.candidate.errors}20\\.0%`));
  assert.equal(report.candidate.calls, suite.seeded.events.filter((e) => e.arm === 'v2').length);
  assert.equal(report.baseline.calls, suite.seeded.events.filter((e) => e.arm === 'v1').length);
  for (const chart of ['Calls per minute by arm', 'Error rate (%) per minute by arm', 'p95 latency (ms) per minute by arm']) {
    await page.getByRole('img', { name: chart }).locator('canvas').waitFor();
  }
  await page.screenshot({ path: `${shots}/ops-rollout.png`, fullPage: true });

  const state = async () => (await suite.server.api('GET', `/rollouts/${rollout.id}`)).state;
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  assert.equal(await state(), 'paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('button', { name: 'Pause' }).waitFor();
  assert.equal(await state(), 'running');
  await page.getByRole('button', { name: 'Abort' }).click();
  await page.getByText('rolled_back', { exact: true }).first().waitFor();
  assert.equal(await state(), 'rolled_back');
  assert.equal(await page.getByRole('button', { name: 'Pause' }).count(), 0);

  // A second rollout of the same model, promoted straight to 100%.
  const second = await startRollout(suite.server, 'canary-again');
  await page.reload();
  await page.getByRole('link', { name: 'canary-again' }).click();
  await page.getByRole('button', { name: 'Promote to 100%' }).click();
  await page.getByText('completed', { exact: true }).first().waitFor();
  assert.equal((await suite.server.api('GET', `/rollouts/${second.id}`)).state, 'completed');
  await page.close();

  // A security engineer reads rollouts but may not move them.
  const auditor = await signIn('security_engineer', ROLE_PASSWORD);
  await auditor.goto(`${suite.server.url}/ui/rollouts/${second.id}`);
  await auditor.getByRole('heading', { name: 'Rollout canary-again' }).waitFor();
  assert.equal(await auditor.getByRole('group', { name: 'Move the rollout' }).count(), 0);
  await auditor.close();
});

test('alerts show rules, channels, what fires and its deliveries; a permitted rule is created', async () => {
  // The health rule fires on the candidate's errors and is delivered to the receiver.
  const delivered = await until(async () => (await suite.server.api('GET', '/alerts/deliveries')).items.find((d) => d.ok));
  assert.ok(delivered, 'no delivery within 20 s');
  const page = await signIn('resource_manager', ROLE_PASSWORD);
  await page.getByRole('link', { name: 'Alerts' }).click();
  await page.getByRole('table', { name: 'Rules' }).getByRole('cell', { name: 'canary errors' }).waitFor();
  const firing = page.getByRole('table', { name: 'Firing and recent states' }).getByRole('row').filter({ hasText: 'canary-next' });
  assert.match(await firing.textContent(), /canary errors.*firing/);
  await page.getByRole('table', { name: 'Channels' }).getByRole('cell', { name: 'ops-hook' }).waitFor();
  const delivery = page.getByRole('table', { name: 'Deliveries, newest first' }).getByRole('row').nth(1);
  assert.match(await delivery.textContent(), /canary errors.*ops-hook.*canary-next.*ok/);

  // resource_manager writes cost rules only: the form offers those kinds.
  const form = page.getByRole('form', { name: 'New alert rule' });
  const kinds = await form.getByLabel('Kind').locator('option').allTextContents();
  assert.deepEqual(kinds, ['budget_percent (cost)', 'spend_anomaly (cost)']);
  await form.getByLabel('Rule name').fill('spend spike');
  await form.getByLabel('Kind').selectOption('spend_anomaly');
  await form.getByRole('button', { name: 'Create rule' }).click();
  await page.getByRole('table', { name: 'Rules' }).getByRole('cell', { name: 'spend spike' }).waitFor();
  await page.screenshot({ path: `${shots}/ops-alerts.png`, fullPage: true });
  const rules = (await suite.server.api('GET', '/alerts/rules')).items;
  const made = rules.find((r) => r.name === 'spend spike');
  assert.equal(made.kind, 'spend_anomaly');
  assert.deepEqual(made.channel_ids, [suite.seeded.channel.id]);
  await page.close();

  // A security engineer is offered the security kinds alone.
  const sec = await signIn('security_engineer', ROLE_PASSWORD);
  await sec.getByRole('link', { name: 'Alerts' }).click();
  const secKind = sec.getByRole('form', { name: 'New alert rule' }).getByLabel('Kind');
  // The options follow /me, loaded with the page: wait for them before reading.
  await secKind.locator('option', { hasText: 'auth_failures' }).waitFor({ state: 'attached' });
  const secKinds = await secKind.locator('option').allTextContents();
  assert.deepEqual(secKinds, ['auth_failures (security)', 'policy_violations (security)']);
  await sec.close();
});

test('the audit log filters by actor, action and time, and the chain verifies', async () => {
  const page = await signIn('security_engineer', ROLE_PASSWORD);
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: 'config.activate' }).first().waitFor();
  // The rollouts the test above moved are audited under model_ops' user id.
  const moves = (await suite.server.api('GET', '/audit?action=rollout.pause')).items.filter((r) => r.role === 'model_ops');
  assert.ok(moves.length >= 1, JSON.stringify(moves));
  const actor = moves[0].actor;
  const resumes = (await suite.server.api('GET', `/audit?action=rollout.resume&actor=${encodeURIComponent(actor)}`)).items;
  assert.equal(resumes.length, 1);
  await page.getByLabel('Actor').fill(actor);
  await page.getByLabel('Action').fill('rollout.resume');
  await page.getByRole('button', { name: 'Filter' }).click();
  const table = page.getByRole('table', { name: `Audit records for rollout.resume by ${actor}` });
  await table.waitFor();
  assert.equal(await table.getByRole('row').count(), 1 + resumes.length);
  assert.match(await table.getByRole('row').nth(1).textContent(), new RegExp(`${actor}model_opsrollout\\.resume`));
  // A time range that ends a minute before the first pause: what the server has there, no pause.
  const pausedAt = new Date(moves[moves.length - 1].at - 60_000).toISOString().slice(0, 16);
  await page.getByLabel('Action').fill('');
  await page.getByLabel('Before (UTC)').fill(pausedAt);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('table', { name: `Audit records by ${actor} before ${pausedAt} UTC` }).waitFor();
  const earlier = (await suite.server.api('GET', `/audit?limit=500&actor=${encodeURIComponent(actor)}&to=${Date.parse(`${pausedAt}Z`)}`)).items;
  const shown = page.getByRole('table', { name: /^Audit records/ }).getByRole('row');
  assert.equal(await shown.count(), 1 + earlier.length);
  assert.ok(earlier.every((r) => r.action !== 'rollout.pause'));
  assert.equal(await shown.filter({ hasText: 'rollout.pause' }).count(), 0);

  await page.getByRole('button', { name: 'Verify chain' }).click();
  const status = page.getByRole('status');
  await status.waitFor();
  assert.match(await status.textContent(), /^Intact\. audit chain intact: \d+ of your records checked/);
  const verified = (await suite.server.api('GET', '/audit?action=audit.verify')).items;
  assert.equal(verified.length, 1);
  assert.equal(verified[0].target, 'intact');
  await page.screenshot({ path: `${shots}/ops-audit-verify.png`, fullPage: true });
  await page.close();
});
