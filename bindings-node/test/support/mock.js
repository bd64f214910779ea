//! The mock provider for the tests: one process per test file, a session per test (as the
//! Python tests' conftest does).
'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** A binary of the cargo build: `env` when set, else the debug target directory's. */
function builtBinary(name, env) {
  if (process.env[env]) return process.env[env];
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  return path.join(target, 'debug', name);
}

async function httpJson(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

class Session {
  constructor(mock, id) {
    this.id = id;
    this.url = `${mock.url}/s/${id}`;
    this.mock = mock;
  }

  counters() {
    return httpJson('GET', `${this.mock.url}/_mock/sessions/${this.id}/counters`);
  }

  requests() {
    return httpJson('GET', `${this.mock.url}/_mock/sessions/${this.id}/requests`);
  }

  /** The usage batches shipped to this session: `[{raw, events}]`. */
  usage() {
    return httpJson('GET', `${this.mock.url}/_mock/sessions/${this.id}/usage`);
  }

  /** A config with one OpenAI provider on this session, models `chat` and `embed`. */
  openaiConfig(extra = {}) {
    return {
      version: 1,
      providers: { oa: { kind: 'openai', base_url: `${this.url}/v1` } },
      models: {
        chat: { deployments: [{ provider: 'oa', model: 'gpt-4o-mini' }], ...extra },
        embed: { type: 'embedding', deployments: [{ provider: 'oa', model: 'text-embedding-3-small' }] },
      },
    };
  }
}

class Mock {
  static async start() {
    const proc = spawn(builtBinary('switchyard-mock', 'SWITCHYARD_MOCK_BIN'), ['--addr', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const lines = readline.createInterface({ input: proc.stdout });
    const [line] = await Promise.race([
      new Promise((resolve) => lines.once('line', (l) => resolve([l]))),
      new Promise((_, reject) => proc.once('error', reject)),
    ]);
    if (!line.startsWith('listening on ')) throw new Error(`mock did not start: ${line}`);
    const mock = new Mock();
    mock.url = line.slice('listening on '.length);
    mock.proc = proc;
    return mock;
  }

  async session(script = {}) {
    const created = await httpJson('POST', `${this.url}/_mock/sessions`, script);
    return new Session(this, created.id);
  }

  stop() {
    this.proc.kill();
  }
}

module.exports = { Mock, ROOT, builtBinary };
