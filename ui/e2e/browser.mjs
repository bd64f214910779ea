// What every browser suite shares: Debian's Chromium through playwright-core (which never
// downloads a browser), signing in through the console's own form, the navigation's
// links, and where screenshots go (.run/ui-screenshots/, ignored).

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { TENANT } from './server.mjs';

export const shots = resolve(import.meta.dirname, '../../.run/ui-screenshots');

export function launch() {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

/** A new page of `browser` signed in to `url` as `username`, the navigation shown. */
export async function signIn(browser, url, username, password, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  await page.goto(`${url}/ui/`);
  await page.getByLabel('Tenant').fill(TENANT);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  return page;
}

export const navLinks = async (page) =>
  page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents();

/** The permissions `/api/v1/me` lists for `username`: what its navigation follows. */
export async function permissionsOf(url, username, password) {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: TENANT, username, password }),
  });
  const { token } = await login.json();
  const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return (await me.json()).permissions;
}
