// The six roles in a real browser: one user per role signs in and sees exactly the links
// whose permission it holds — checked against /api/v1/me and against the matrix in
// docs/permissions.md — opens every page it may (a screenshot of each, named
// <role>-<page>.png) and meets "Not allowed" on one it may not. The pages come from
// ui/src/nav.ts, so a page added there is covered without editing this file.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { navLinks, permissionsOf, shots, signIn } from './browser.mjs';
import { PAGES, hrefOf, visiblePages } from './nav-pages.mjs';
import { ROLES, ROLE_PASSWORD, seededSuite } from './seed-ops.mjs';

const suite = seededSuite();

/** The matrix of docs/permissions.md: role → the permissions it grants. */
function documentedMatrix() {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/permissions.md'), 'utf8');
  const header = doc.split('\n').find((l) => l.startsWith('| permission |'));
  const columns = header.split('|').map((c) => c.trim().replaceAll('`', ''));
  const matrix = Object.fromEntries(ROLES.map((r) => [r, []]));
  for (const line of doc.split('\n')) {
    const m = /^\| `([a-z_.]+)` \|/.exec(line);
    if (!m) continue;
    const cells = line.split('|').map((c) => c.trim());
    for (const role of ROLES) {
      if (cells[columns.indexOf(role)] === 'yes') matrix[role].push(m[1]);
    }
  }
  return matrix;
}

test('the documented matrix names every role', () => {
  const matrix = documentedMatrix();
  for (const role of ROLES) assert.ok(matrix[role].length > 0, role);
  assert.ok(matrix.infra_admin.includes('audit.read') && !matrix.app_developer.includes('audit.read'));
});

for (const role of ROLES) {
  test(`${role}: its links, its pages, and "Not allowed" elsewhere`, async () => {
    const permissions = await permissionsOf(suite.server.url, role, ROLE_PASSWORD);
    assert.deepEqual([...permissions].sort(), [...documentedMatrix()[role]].sort(), `${role}: /me against docs/permissions.md`);
    const allowed = visiblePages(permissions);
    assert.ok(allowed.length > 0, role);

    const narrow = role === 'app_developer';
    const page = await signIn(suite.browser, suite.server.url, role, ROLE_PASSWORD, narrow ? { width: 390, height: 800 } : undefined);
    assert.deepEqual(await navLinks(page), allowed.map((p) => p.title), `${role}: navigation`);
    for (const p of allowed) {
      await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: p.title, exact: true }).click();
      await page.getByRole('heading', { name: p.title, level: 1 }).waitFor();
      assert.equal(new URL(page.url()).pathname, hrefOf(p.id));
      // Rendered from the server, not stuck loading and with no error in place.
      await page.waitForFunction(() => !document.querySelector('main [aria-busy="true"]'));
      assert.equal(await page.getByRole('heading', { name: 'Not allowed' }).count(), 0, `${role} ${p.id}`);
      assert.equal(await page.locator('main .error').count(), 0, `${role} ${p.id}: ${await page.locator('main .error').allTextContents()}`);
      await page.screenshot({ path: `${shots}/${role}-${p.id}.png`, fullPage: true });
    }

    const denied = PAGES.find((p) => !permissions.includes(p.permission));
    if (denied) {
      await page.goto(`${suite.server.url}${hrefOf(denied.id)}`);
      await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
      assert.match(await page.getByRole('alert').textContent(), new RegExp(denied.permission.replaceAll('.', '\\.')));
      await page.screenshot({ path: `${shots}/${role}-${denied.id}-denied.png`, fullPage: true });
    } else {
      // infra_admin holds every page's permission: nothing to be refused.
      assert.equal(allowed.length, PAGES.length, role);
    }
    await page.close();
  });
}
