// What the browser suites share: Debian's Chromium launched by playwright-core (which
// never downloads a browser), and signing in to the console.

import { chromium } from 'playwright-core';
import { TENANT } from './server.mjs';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

/** A new page of `browser`, signed in to the console at `url` as `username`. */
export async function signIn(browser, url, username, password, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  await page.goto(`${url}/ui/`);
  await page.getByLabel('Tenant').fill(TENANT);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  return page;
}
