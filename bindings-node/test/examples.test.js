//! The examples (examples/node/) and the declarations: `tsc --strict` type-checks the
//! TypeScript example and test/types/declarations.ts (misuses included, which must fail),
//! and the plain JavaScript example runs against the mock provider.
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
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

/** Runs the JavaScript example (as `dir/quickstart.js`, with `env`) against a fresh mock
 * session, and checks what it printed and what reached the mock. */
async function quickstart(dir, env) {
  const session = await mock.session({ models: { '*': [{ content: 'Hello from the mock', usage: { prompt_tokens: 5, completion_tokens: 4 } }] } });
  const { stdout } = await run(process.execPath, [path.join(dir, 'quickstart.js')], {
    cwd: dir,
    env: { ...env, SWITCHYARD_MOCK_URL: session.url },
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
}

test('the JavaScript example runs against the mock', async () => {
  needs(path.join(EXAMPLES, 'node_modules', 'switchyard'), 'cd examples/node && npm ci --ignore-scripts');
  await quickstart(EXAMPLES, process.env);
});

test('npm pack gives a tarball that installs and runs with no Rust toolchain', async () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: PACKAGE });
    const [packed] = JSON.parse(stdout);
    const files = packed.files.map((f) => f.path);
    assert.ok(files.includes('lib/switchyard.node'), 'the native addon is inside');
    assert.ok(files.includes('lib/index.d.ts') && files.includes('lib/index.mjs'));
    assert.deepEqual(files.filter((f) => !f.startsWith('lib/') && !['package.json', 'README.md', 'LICENSE'].includes(f)), []);
    // A fresh project that installs the tarball alone, offline (the package has no dependencies).
    const app = path.join(scratch, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true }));
    await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(scratch, packed.filename)], { cwd: app });
    fs.copyFileSync(path.join(EXAMPLES, 'quickstart.js'), path.join(app, 'quickstart.js'));
    // No cargo or rustc on the PATH, and nothing pointing back at this checkout.
    const bare = [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter);
    for (const tool of ['cargo', 'rustc']) {
      assert.ok(bare.split(path.delimiter).every((dir) => !fs.existsSync(path.join(dir, tool))), `${tool} is reachable`);
    }
    const env = { PATH: bare, HOME: scratch };
    await quickstart(app, env);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
