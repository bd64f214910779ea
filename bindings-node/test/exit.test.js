//! A program using the SDK exits with status 0, promptly, once its calls are done: with
//! and without `close()`, with a stream left open, with many calls at once. Engine threads
//! must not keep the event loop alive. Each variant runs as a real program, several times.
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { after, before, test } = require('node:test');

const { Mock } = require('./support/mock');

const RUNS = Number(process.env.SWITCHYARD_EXIT_RUNS || 4);
// Generous for a loaded 2-core machine; a loop kept alive hangs until the kill instead.
const LIMIT_MS = 5000;

const PROGRAM = `
const { Switchyard } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
const [variant, config] = [process.argv[1], JSON.parse(process.argv[2])];
const HI = [{ role: 'user', content: 'hi' }];
(async () => {
  const client = new Switchyard({ config });
  if (variant === 'one' || variant === 'one-closed') {
    const r = await client.chat.completions.create({ model: 'chat', messages: HI });
    if (!r.choices[0].message.content) throw new Error('empty');
    if (variant === 'one-closed') await client.close();
  } else if (variant === 'many') {
    const calls = Array.from({ length: 200 }, () => client.chat.completions.create({ model: 'chat', messages: HI }));
    if ((await Promise.all(calls)).length !== 200) throw new Error('lost calls');
  } else if (variant === 'stream-left-open') {
    const stream = await client.chat.completions.create({ model: 'chat', messages: HI, stream: true });
    await stream.next();
  } else if (variant === 'models') {
    await client.models.list();
  }
})().catch((e) => { console.error(e); process.exit(3); });
`;

let mock;
before(async () => {
  mock = await Mock.start();
});
after(() => mock.stop());

function run(variant, config) {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', PROGRAM, variant, JSON.stringify(config)], { timeout: LIMIT_MS * 2 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, ms: Date.now() - started, stderr });
    });
  });
}

for (const variant of ['one', 'one-closed', 'many', 'stream-left-open', 'models']) {
  test(`a program (${variant}) exits 0 promptly`, async () => {
    const s = await mock.session({ models: { '*': [{ content: 'a b c d e f', inter_token_ms: 50 }] } });
    for (let i = 0; i < RUNS; i += 1) {
      const { code, ms, stderr } = await run(variant, s.openaiConfig());
      assert.equal(code, 0, stderr);
      assert.ok(ms < LIMIT_MS, `exited after ${ms} ms`);
    }
  });
}
