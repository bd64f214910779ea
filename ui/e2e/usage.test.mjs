// The usage pages in a real browser (Chromium through playwright-core) against the real
// server binary, seeded through the SDK's own routes (seed-usage.mjs): the overview, usage
// and cost with its CSV download, budgets with live leases, capacity; each page's numbers
// checked against what was seeded or what the API answers. Screenshots go to
// .run/ui-screenshots/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { launch, navLinks, permissionsOf, shots, signIn as signInAs } from './browser.mjs';
import { visiblePages } from './nav-pages.mjs';
import { startServer } from './server.mjs';
import { USER_PASSWORD, parseCsv, seedUsage } from './seed-usage.mjs';

const DAY = 86_400_000;
let server;
let browser;
let seeded;

before(async () => {
  server = await startServer();
  seeded = await seedUsage(server);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function signIn(username, viewport) {
  const page = await signInAs(browser, server.url, username, USER_PASSWORD, viewport);
  page.setDefaultTimeout(10_000);
  return page;
}

/** The links nav.ts shows `username` (its permissions as /api/v1/me lists them). */
const linksOf = async (username) => visiblePages(await permissionsOf(server.url, username, USER_PASSWORD)).map((p) => p.title);
/** The figure of a tile (`<dt>label</dt><dd>figure</dd>`). */
const tile = (page, label) => page.locator('.tile').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('.figure');
const usd = (v) => `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const pct = (rate) => `${(rate * 100).toFixed(1)}%`;
const count = (n) => n.toLocaleString('en-US');
/** A select by its label (its accessible name goes on with the chosen option's text). */
const combo = (scope, label) => scope.getByRole('combobox', { name: new RegExp(`^${label}`) });
/** The row, within `scope` (a page or a locator), whose header cell is `name`. */
const row = (scope, name) => {
  const page = typeof scope.page === 'function' ? scope.page() : scope;
  return scope.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
};

test('a resource manager lands on the overview: spend against budgets, the range figures and charts', async () => {
  const page = await signIn('money');
  const links = await navLinks(page);
  assert.deepEqual(links, await linksOf('money'));
  for (const title of ['Overview', 'Usage and cost', 'Budgets', 'Capacity']) assert.ok(links.includes(title), title);
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/ui/overview');
  // Spend today, as the API sums it, and the month against the tenant's monthly budget.
  const now = Date.now();
  const from = now - (now % DAY);
  const today = await server.api('GET', `/usage?from=${from}&to=${now + 1}&step=${Math.ceil((now + 1 - from) / 60_000)}m`);
  const spentToday = today.series[0]?.points[0]?.cost_usd ?? 0;
  assert.ok(spentToday > 0);
  await tile(page, 'Spend today').filter({ hasText: usd(spentToday) }).waitFor();
  await page.getByText('of $50.00 budget “tenant-monthly”').waitFor();
  await page.getByRole('table', { name: 'Budgets this period' }).getByRole('cell', { name: 'tenant-monthly' }).waitFor();
  // Over 30 days: every seeded call, 7 errors, 35 in-process ones.
  await combo(page, 'Range').selectOption('30d');
  await tile(page, 'Calls').filter({ hasText: count(seeded.calls) }).waitFor();
  assert.equal(await tile(page, 'Error rate').textContent(), pct(7 / seeded.calls));
  assert.equal(await tile(page, 'Local-model share').textContent(), pct(35 / seeded.calls));
  assert.equal(await tile(page, 'Cache hit rate').textContent(), pct(14 / seeded.calls));
  assert.match(await tile(page, 'p95 latency').textContent(), /^[\d,]+ ms$/);
  for (const chart of ['Calls and errors', 'Spend (USD)', 'Latency (ms)', 'Error, cache hit and local-model rates (%)']) {
    await page.getByRole('img', { name: chart }).locator('canvas').first().waitFor();
  }
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });
  // Chosen days: a wrong pair is said, not sent.
  await combo(page, 'Range').selectOption('custom');
  await page.getByRole('textbox', { name: 'From', exact: true }).fill('2026-11-10');
  await page.getByRole('textbox', { name: 'To', exact: true }).fill('2026-11-01');
  await page.getByText('To must not be before From').waitFor();
  await page.close();
  // Narrow screen.
  const narrow = await signIn('money', { width: 390, height: 800 });
  await tile(narrow, 'Calls').waitFor();
  await narrow.screenshot({ path: `${shots}/overview-narrow.png`, fullPage: true });
  await narrow.close();
});

test('usage and cost: grouped, narrowed to a department subtree, and the CSV download matches the API', async () => {
  const page = await signIn('money');
  await page.getByRole('link', { name: 'Usage and cost' }).click();
  await combo(page, 'Range').selectOption('30d');
  await combo(page, 'Group by').selectOption('app');
  await page.getByRole('table', { name: 'Cost by app' }).waitFor();
  await row(page, 'search').getByRole('cell', { name: usd(seeded.micros_of.search / 1e6), exact: true }).waitFor();
  await row(page, 'crm').getByRole('cell', { name: count(seeded.calls_of.crm), exact: true }).first().waitFor();
  // The department tree: Engineering's subtree is Engineering (search) and ML (ranker).
  await combo(page, 'Group by').selectOption('department');
  await combo(page, 'Department').selectOption({ label: '\u00a0\u00a0Engineering' });
  await page.getByRole('table', { name: 'Cost by department' }).waitFor();
  await row(page, 'ML').waitFor();
  await row(page, 'Engineering')
    .getByRole('cell', { name: count(seeded.calls_of.search + seeded.calls_of.ranker), exact: true })
    .first()
    .waitFor();
  assert.equal(await row(page, 'Sales').count(), 0);
  await page.getByRole('img', { name: 'Spend over time by department (USD)' }).waitFor();
  await page.screenshot({ path: `${shots}/usage.png`, fullPage: true });

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  const name = download.suggestedFilename();
  const m = /^costs-department-(\d+)-(\d+)\.csv$/.exec(name);
  assert.ok(m, name);
  const csv = parseCsv(readFileSync(await download.path(), 'utf8'));
  const json = await server.api(
    'GET',
    `/costs/report?from=${m[1]}&to=${m[2]}&group_by=department&department=${seeded.departments.engineering}`,
  );
  const [header, ...lines] = csv;
  const col = (c) => header.indexOf(c);
  assert.deepEqual(header.slice(0, 4), ['key', 'name', 'parent_id', 'calls']);
  assert.equal(lines.length, json.items.length);
  assert.equal(lines.length, 2);
  lines.forEach((line, i) => {
    const item = json.items[i];
    assert.equal(line[col('key')], item.key);
    assert.equal(line[col('name')], item.name);
    assert.equal(Number(line[col('calls')]), item.total.calls);
    assert.equal(Number(line[col('cost_micros')]), item.total.cost_micros);
    assert.equal(Number(line[col('own_cost_micros')]), item.own.cost_micros);
  });
  assert.equal(Number(lines[0][col('calls')]), seeded.calls_of.search + seeded.calls_of.ranker);
  await page.close();
});

test('budgets: spent, reserved and remaining, the live lease, then an edit and a new budget', async () => {
  const page = await signIn('money');
  await page.getByRole('link', { name: 'Budgets' }).click();
  const monthly = await server.api('GET', `/budgets/${seeded.budgets.monthly}`);
  const r = row(page, 'tenant-monthly');
  await r.getByRole('cell', { name: usd(monthly.state.spent_usd), exact: true }).first().waitFor();
  await r.getByRole('cell', { name: usd(monthly.state.reserved_usd), exact: true }).first().waitFor();
  assert.ok(monthly.state.reserved_usd > 0, JSON.stringify(monthly.state));
  await r.getByRole('cell', { name: usd(monthly.state.remaining_usd), exact: true }).first().waitFor();
  const leases = page.getByRole('region', { name: 'Live leases of tenant-monthly' });
  await row(leases, 'search-web-1').getByRole('cell', { name: 'search', exact: true }).waitFor();
  await page.screenshot({ path: `${shots}/budgets.png`, fullPage: true });

  await page.getByRole('button', { name: 'Edit budget tenant-monthly' }).click();
  const edit = page.getByRole('form', { name: 'Edit budget tenant-monthly' });
  await edit.getByLabel('Limit (USD)').fill('75');
  await combo(edit, 'Mode').selectOption('soft');
  await edit.getByRole('button', { name: 'Save budget' }).click();
  await row(page, 'tenant-monthly').getByRole('cell', { name: '$75.00', exact: true }).waitFor();
  const edited = await server.api('GET', `/budgets/${seeded.budgets.monthly}`);
  assert.equal(edited.amount_usd, 75);
  assert.equal(edited.mode, 'soft');

  const form = page.getByRole('form', { name: 'New budget' });
  await form.getByLabel('Name').fill('ml-weekly');
  await combo(form, 'Scope').selectOption('department');
  await combo(form, 'Department').selectOption({ label: 'ML' });
  await combo(form, 'Period').selectOption('week');
  await form.getByLabel('Limit (USD)').fill('10');
  await form.getByRole('button', { name: 'Create budget' }).click();
  await row(page, 'ml-weekly').waitFor();
  const made = (await server.api('GET', '/budgets')).items.find((b) => b.name === 'ml-weekly');
  assert.equal(made.scope, 'department');
  assert.equal(made.scope_ref, seeded.departments.ml);
  assert.equal(made.period, 'week');
  assert.equal(made.amount_usd, 10);
  await page.close();
});

test('model ops sees capacity with the forecast and replicas, and no usage and cost', async () => {
  const page = await signIn('ops');
  const links = await navLinks(page);
  assert.deepEqual(links, await linksOf('ops'));
  assert.ok(links.includes('Capacity') && !links.includes('Usage and cost'));
  await page.getByRole('heading', { name: 'Apps and keys' }).waitFor();
  await page.getByRole('link', { name: 'Capacity' }).click();
  const report = await server.api('GET', '/capacity/report');
  const vllm = report.find((x) => x.deployment === 'vllm/llama');
  assert.ok(vllm.forecast, JSON.stringify(vllm).slice(0, 200));
  const rec = row(page.getByRole('table', { name: 'Forecast and recommended replicas' }), 'vllm/llama');
  await rec.getByRole('cell', { name: vllm.forecast.peak.toFixed(1), exact: true }).waitFor();
  const cells = await rec.getByRole('cell').allTextContents();
  assert.deepEqual(cells.slice(-3), ['2', String(vllm.replicas_now), String(vllm.replicas_at_peak)]);
  await row(page.getByRole('table', { name: /Deployment health/ }), 'vllm/llama').waitFor();
  await page.getByRole('img', { name: 'Calls per hour: llama on vllm/llama' }).locator('canvas').first().waitFor();
  await page.screenshot({ path: `${shots}/capacity.png`, fullPage: true });
  // No cost.read: no link, and a clear message at the URL.
  await page.goto(`${server.url}/ui/usage`);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  assert.match(await page.getByRole('alert').textContent(), /cost\.read/);
  await page.screenshot({ path: `${shots}/model-ops-usage-denied.png`, fullPage: true });
  await page.close();
});

test('the usage page works from the keyboard alone', async () => {
  const page = await signIn('money');
  await page.getByRole('link', { name: 'Usage and cost' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('table', { name: 'Cost by department' }).waitFor();
  await combo(page, 'Group by').focus();
  await page.keyboard.press('ArrowDown');
  await page.getByRole('table', { name: 'Cost by app' }).waitFor();
  await page.close();
});
