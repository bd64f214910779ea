//! The examples (examples/node/) and the declarations: `tsc --strict` type-checks the
//! TypeScript example and test/types/declarations.ts (misuses included, which must fail),
//! and the plain JavaScript example runs against the mock provider.
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const { after, before, test } = require('node:test');

const { Mock, ROOT } = require('./support/mock');

const run = promisify(execFile);
const PACKAGE = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples', 'node');
const TSC = path.join(PACKAGE, 'node_modules', '.bin', 'tsc');

/** Fails, saying what to run, when an npm install this test needs is missing. */
function needs(file, install) {
  assert.ok(fs.existsSync(file), `${file} is missing: run \`${install}\``);
}

async function tsc(project) {
  needs(TSC, 'cd bindings-node && npm ci --ignore-scripts');
  try {
    await run(TSC, ['-p', project, '--noEmit', '--strict'], { cwd: PACKAGE });
  } catch (error) {
    assert.fail(`tsc -p ${project} found errors:\n${error.stdout}${error.stderr}`);
  }
}

let mock;
before(async () => {
  mock = await Mock.start();
});
after(() => mock.stop());

test('the declarations type-check under --strict, and their misuses do not', async () => {
  await tsc(path.join(__dirname, 'types'));
});

test('the TypeScript example type-checks under --strict', async () => {
  needs(path.join(EXAMPLES, 'node_modules', 'switchyard'), 'cd examples/node && npm ci --ignore-scripts');
  await tsc(EXAMPLES);
});

test('the JavaScript example runs against the mock', async () => {
  needs(path.join(EXAMPLES, 'node_modules', 'switchyard'), 'cd examples/node && npm ci --ignore-scripts');
  const session = await mock.session({ models: { '*': [{ content: 'Hello from the mock', usage: { prompt_tokens: 5, completion_tokens: 4 } }] } });
  const { stdout } = await run(process.execPath, [path.join(EXAMPLES, 'quickstart.js')], {
    env: { ...process.env, SWITCHYARD_MOCK_URL: session.url },
  });
  const lines = Object.fromEntries(stdout.trim().split('\n').map((line) => {
    const at = line.indexOf(':');
    return [line.slice(0, at), line.slice(at + 1).trim()];
  }));
  assert.equal(lines.answer, 'Hello from the mock');
  assert.equal(lines.tokens, '9');
  assert.match(lines['served by'], /^oa\/gpt-4o-mini \$\d+\.\d{6}$/);
  assert.equal(lines['second call from the cache'], 'true');
  assert.equal(lines.stream, 'Hello from the mock');
  assert.match(lines.embeddings, /^2 x \d+$/);
  assert.equal(lines['bad request, field'], 'messages[0].role');
  assert.equal(lines.models, 'chat, embed');
  const counters = await session.counters();
  // Upstream: the chat, the stream, the embeddings; the second chat came from the cache
  // and the bad request was never sent.
  assert.equal(counters.total, 3);
});
