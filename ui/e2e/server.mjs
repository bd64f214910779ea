// A real server for the browser suite: the switchyard binary on a fresh SQLite file in a
// temporary directory, seeded as scripts/demo.sh does (tenant demo, its config pushed and
// activated), serving on a free loopback port.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
export const TENANT = 'demo';
export const ADMIN = 'admin';
export const PASSWORD = 'demo-password-123';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * `env`: variables for the server process beyond this one's. It has a master key of its own,
 * as a real deployment does (provider credentials and call logs are sealed with it).
 */
export async function startServer({ env = {} } = {}) {
  const bin = process.env.SWITCHYARD_SERVER_BIN;
  if (!bin) throw new Error('set SWITCHYARD_SERVER_BIN to the switchyard binary (make test-ui does)');
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-ui-'));
  const db = `sqlite://${join(dir, 'ui.db')}`;
  const cli = (...args) => execFileSync(bin, ['--database-url', db, ...args], { cwd: repo, encoding: 'utf8' });
  cli('init', '--tenant', TENANT, '--password', PASSWORD);
  cli('config', 'push', 'examples/rust/switchyard.yaml', '--tenant', TENANT, '--label', 'demo');
  cli('config', 'activate', '--tenant', TENANT, '1');

  const url = `http://127.0.0.1:${await freePort()}`;
  const log = join(dir, 'server.log');
  const child = spawn(bin, ['--database-url', db, 'serve', '--listen', url.slice(7)], {
    cwd: repo,
    env: { ...process.env, SWITCHYARD_MASTER_KEY: randomBytes(32).toString('base64'), ...env },
    stdio: ['ignore', 'ignore', openSync(log, 'w')],
  });
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await fetch(`${url}/readyz`).then((r) => r.ok, () => false))) {
    child.kill();
    throw new Error(`the server did not get ready:\n${readFileSync(log, 'utf8')}`);
  }

  /** The management API as the admin: JSON in, JSON out, failing on an error status. */
  const token = (
    await (
      await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: TENANT, username: ADMIN, password: PASSWORD }),
      })
    ).json()
  ).token;
  const api = async (method, path, body) => {
    const r = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const stop = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, api, stop };
}
