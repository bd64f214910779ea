//! Server mode against the real management server binary (as the Python binding's
//! test_server_mode.py): the config comes from the server and follows its activations,
//! `Switchyard.create` waits for it without blocking the event loop, a wrong key is an
//! AuthenticationError, and a client whose server is down starts from its cache file.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { after, before, test } = require('node:test');

const switchyard = require('../lib');
const { Switchyard } = switchyard;
const { Mock, builtBinary } = require('./support/mock');

const HI = [{ role: 'user', content: 'hi' }];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let mock;
let dir;
let management;
let appKey;

/** A port nothing listens on (bound, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = http.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** The server binary on a fresh SQLite database, with one tenant and its admin token. */
class Management {
  static async start(home) {
    const binary = builtBinary('switchyard', 'SWITCHYARD_SERVER_BIN');
    assert.ok(fs.existsSync(binary), `server not built: ${binary} (cargo build -p switchyard-server)`);
    const db = `sqlite://${path.join(home, 'switchyard.db')}`;
    const init = execFileSync(binary, ['--database-url', db, 'init', '--tenant', 'acme', '--password', 'pw-for-tests-123'], { encoding: 'utf8' });
    const token = init.split('\n').find((line) => line.startsWith('token:')).slice('token:'.length).trim();
    const addr = `127.0.0.1:${await freePort()}`;
    const proc = spawn(binary, ['--database-url', db, 'serve', '--listen', addr], { stdio: 'ignore' });
    const url = `http://${addr}`;
    for (let i = 0; ; i += 1) {
      try {
        if ((await fetch(`${url}/readyz`)).ok) break;
      } catch {
        // not listening yet
      }
      if (i === 100) {
        proc.kill();
        throw new Error('the server did not get ready');
      }
      await sleep(50);
    }
    return Object.assign(new Management(), { url, token, proc });
  }

  async api(method, route, body) {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async activate(document) {
    const version = await this.api('POST', '/api/v1/configs', { document });
    await this.api('POST', `/api/v1/configs/${version.id}/activate`);
  }

  stop() {
    this.proc.kill();
  }
}

function configWith(session, ...aliases) {
  const document = session.openaiConfig();
  for (const alias of aliases) document.models[alias] = document.models.chat;
  return document;
}

async function modelIds(client) {
  return (await client.models.list()).data.map((m) => m.id);
}

async function waitForModel(client, alias, within = 5000) {
  const deadline = Date.now() + within;
  while (!(await modelIds(client)).includes(alias)) {
    assert.ok(Date.now() < deadline, `${alias} never arrived`);
    await sleep(10);
  }
}

/** An HTTP server in this process that answers each request `delayMs` late, from the
 * management server: it can only answer while this process's event loop runs. */
function delayingProxy(target, delayMs) {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      const forwarded = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    }, delayMs);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-node-server-'));
  mock = await Mock.start();
  management = await Management.start(dir);
  const departments = await management.api('GET', '/api/v1/departments');
  const app = await management.api('POST', '/api/v1/apps', { department_id: departments.items[0].id, name: 'checkout' });
  appKey = (await management.api('POST', `/api/v1/apps/${app.id}/keys`, { name: 'sdk' })).secret;
});

after(() => {
  management?.stop();
  mock?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Switchyard.create takes the config from the server and follows its activations', async () => {
  const session = await mock.session({ models: { '*': [{ content: "from the server's config" }] } });
  await management.activate(configWith(session));
  const cache = path.join(dir, 'config-cache.json');
  const client = await Switchyard.create({ server: management.url, apiKey: appKey, configCache: cache });
  assert.ok(client instanceof Switchyard);
  const r = await client.chat.completions.create({ model: 'chat', messages: HI });
  assert.equal(r.choices[0].message.content, "from the server's config");
  await management.activate(configWith(session, 'summarise'));
  await waitForModel(client, 'summarise');
  const moved = await client.chat.completions.create({ model: 'summarise', messages: HI });
  assert.equal(moved.switchyard.model, 'summarise');
  await client.close();
  assert.ok(client.closed);
  assert.equal(fs.statSync(cache).mode & 0o077, 0, 'the cache file is owner-only: it may hold provider keys');

  // The server "moves": a client on a dead address starts from the cache file ...
  const dead = `http://127.0.0.1:${await freePort()}`;
  const cached = await Switchyard.create({ server: dead, apiKey: appKey, configCache: cache });
  assert.ok((await modelIds(cached)).includes('summarise'));
  await cached.close();
  // ... and without one it cannot start, and says why.
  await assert.rejects(Switchyard.create({ server: dead, apiKey: appKey }), switchyard.NetworkError);
});

test('Switchyard.create leaves the event loop free while the first config is on its way', async () => {
  const session = await mock.session({ models: { '*': [{ content: 'through the proxy' }] } });
  await management.activate(configWith(session, 'translate'));
  // The proxy lives on this event loop: a factory that blocked it would never get an answer.
  const proxy = await delayingProxy(management.url, 300);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = Date.now();
  const client = await Switchyard.create({ server: `http://127.0.0.1:${proxy.address().port}`, apiKey: appKey });
  clearInterval(timer);
  try {
    assert.ok(Date.now() - started >= 300, 'the config came through the proxy');
    assert.ok(ticks >= 10, `the event loop ran meanwhile (${ticks} ticks)`);
    const r = await client.chat.completions.create({ model: 'translate', messages: HI });
    assert.equal(r.choices[0].message.content, 'through the proxy');
  } finally {
    await client.close();
    proxy.closeAllConnections();
    proxy.close();
  }
});

test('an AbortSignal gives up waiting for the first config with a CanceledError', async () => {
  // A server that takes requests and never answers them.
  const hanging = http.createServer(() => {});
  await new Promise((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  const started = Date.now();
  try {
    await assert.rejects(
      Switchyard.create({ server: `http://127.0.0.1:${hanging.address().port}`, apiKey: appKey, signal: AbortSignal.timeout(200) }),
      switchyard.CanceledError,
    );
    assert.ok(Date.now() - started < 3000, 'the abort did not wait for the start timeout');
  } finally {
    hanging.closeAllConnections();
    hanging.close();
  }
});

test('a wrong key is an AuthenticationError, from the factory and the constructor', async () => {
  await assert.rejects(Switchyard.create({ server: management.url, apiKey: 'sy_not_a_real_key' }), switchyard.AuthenticationError);
  assert.throws(() => new Switchyard({ server: management.url, apiKey: 'sy_not_a_real_key' }), switchyard.AuthenticationError);
});

test('the server and key can come from the environment', async () => {
  const session = await mock.session({ models: { '*': [{ content: 'from the environment' }] } });
  await management.activate(configWith(session));
  const saved = { config: process.env.SWITCHYARD_CONFIG, server: process.env.SWITCHYARD_SERVER, key: process.env.SWITCHYARD_API_KEY };
  delete process.env.SWITCHYARD_CONFIG;
  process.env.SWITCHYARD_SERVER = management.url;
  process.env.SWITCHYARD_API_KEY = appKey;
  try {
    for (const client of [await Switchyard.create(), new Switchyard()]) {
      const r = await client.chat.completions.create({ model: 'chat', messages: HI });
      assert.equal(r.choices[0].message.content, 'from the environment');
      await client.close();
    }
  } finally {
    for (const [name, value] of [['SWITCHYARD_CONFIG', saved.config], ['SWITCHYARD_SERVER', saved.server], ['SWITCHYARD_API_KEY', saved.key]]) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

test('the factory refuses what the constructor refuses', async () => {
  await assert.rejects(Switchyard.create({ config: {}, configFile: 'x.yaml' }), switchyard.BadRequestError);
  await assert.rejects(Switchyard.create({ config: { version: 1, models: 'nope' } }), switchyard.ConfigError);
});

/** Calls the server has taken in, by its usage report (the last day, every app). */
async function callsReported() {
  const report = await management.api('GET', '/api/v1/usage');
  return report.series.flatMap((s) => s.points).reduce((n, p) => n + p.calls, 0);
}

test('flush resolves once the server has the usage recorded so far', async () => {
  const session = await mock.session({ models: { '*': [{ content: 'counted' }] } });
  await management.activate(configWith(session, 'billed'));
  const client = await Switchyard.create({ server: management.url, apiKey: appKey });
  try {
    await waitForModel(client, 'billed');
    const before = await callsReported();
    for (let i = 0; i < 3; i += 1) await client.chat.completions.create({ model: 'billed', messages: HI });
    await client.flush();
    assert.equal(await callsReported(), before + 3);
    await client.flush(); // nothing new: settles at once
  } finally {
    await client.close();
  }
  await assert.rejects(client.flush(), switchyard.UnavailableError);
});

// A program in server mode ships every call's usage before it exits normally: with
// `close()`, with `flush()`, or with neither (the exit hook flushes).
const USAGE_PROGRAM = `
const { Switchyard } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
const [end, url, key, calls] = [process.argv[1], process.argv[2], process.argv[3], Number(process.argv[4])];
(async () => {
  const client = await Switchyard.create({ server: url, apiKey: key });
  await Promise.all(Array.from({ length: calls }, () => client.chat.completions.create({ model: 'shipped', messages: [{ role: 'user', content: 'hi' }] })));
  if (end === 'flush') await client.flush();
  if (end === 'close') await client.close();
})().catch((e) => { console.error(e); process.exit(3); });
`;

for (const end of ['exit', 'flush', 'close']) {
  test(`a program that ends with ${end === 'exit' ? 'neither close() nor flush()' : `${end}()`} ships all its usage`, async () => {
    const session = await mock.session({ models: { '*': [{ content: 'shipped' }] } });
    await management.activate(configWith(session, 'shipped'));
    const before = await callsReported();
    const calls = 40;
    const { status, stderr } = await new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', USAGE_PROGRAM, end, management.url, appKey, String(calls)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => { err += d; });
      child.on('exit', (code) => resolve({ status: code, stderr: err }));
    });
    assert.equal(status, 0, stderr);
    assert.equal(await callsReported(), before + calls);
  });
}
