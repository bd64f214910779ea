//! Thousands of calls at once from one process, without leaks: a real program runs rounds
//! of concurrent calls (answers, streams read to the end, streams broken off, calls aborted
//! mid-flight) and must exit 0 with nothing lost. Its memory settles in the first rounds
//! (the allocator's and V8's high-water marks for 2,000 calls in flight) and must then stay
//! flat: the lowest of the last three rounds against the lowest of rounds 6-8 (lows,
//! because a round's figure jumps at random), for the V8 heap after a full GC (JavaScript
//! objects: tight) and for the resident set (the engine's memory too; it steps by up to
//! ~13 MB when other tests load the machine, so its bound is looser).
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { promisify } = require('node:util');
const { after, before, test } = require('node:test');

const { Mock } = require('./support/mock');

const run = promisify(execFile);

const ROUNDS = Math.max(12, Number(process.env.SWITCHYARD_SOAK_ROUNDS || 12));
const PER_ROUND = Number(process.env.SWITCHYARD_SOAK_CALLS || 2000);
// Growth allowed once settled. Measured over 20 rounds: RSS settles by about 40 MB in rounds
// 1-6 and then stays within a few MB (alone) or steps once by up to 13 MB (beside the other
// test files); the heap stays within 1 MB. A leak of 2.5 KB of native memory per call
// (20 MB over the 4 rounds compared), or of 0.5 KB of JavaScript objects, exceeds them.
const RSS_LIMIT_MB = 20;
const HEAP_LIMIT_MB = 4;

const PROGRAM = `
const { Switchyard } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
const [answers, hangs, rounds, perRound] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const HI = [{ role: 'user', content: 'hi' }];
const memory = () => {
  global.gc();
  global.gc();
  const { rss, heapUsed } = process.memoryUsage();
  return [rss / 1048576, heapUsed / 1048576];
};
const openFds = () => require('node:fs').readdirSync('/proc/self/fd').length;

async function one(client, hanging, i) {
  switch (i % 4) {
    case 0: {
      const r = await client.chat.completions.create({ model: 'chat', messages: HI });
      return r.choices[0].message.content === 'soak answer' ? 'ok' : 'wrong';
    }
    case 1: {
      let text = '';
      for await (const chunk of await client.chat.completions.create({ model: 'chat', messages: HI, stream: true })) {
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      return text === 'soak answer' ? 'ok' : 'wrong';
    }
    case 2: {
      for await (const chunk of await client.chat.completions.create({ model: 'chat', messages: HI, stream: true })) {
        if (chunk) break;
      }
      return 'ok';
    }
    default: {
      const controller = new AbortController();
      const pending = hanging.chat.completions.create({ model: 'chat', messages: HI }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      const error = await pending.then(() => null, (e) => e);
      return error?.code === 'canceled' ? 'ok' : 'wrong';
    }
  }
}

(async () => {
  const client = new Switchyard({ config: answers });
  const hanging = new Switchyard({ config: hangs });
  const mem = [memory()];
  const fds = [];
  let ok = 0;
  for (let round = 0; round < rounds; round += 1) {
    const outcomes = await Promise.all(Array.from({ length: perRound }, (_, i) => one(client, hanging, i)));
    ok += outcomes.filter((o) => o === 'ok').length;
    mem.push(memory());
    fds.push(openFds());
  }
  await client.close();
  await hanging.close();
  console.log(JSON.stringify({ ok, mem, fds }));
})().catch((e) => { console.error(e); process.exit(3); });
`;

let mock;
before(async () => {
  mock = await Mock.start();
});
after(() => mock.stop());

test(`${ROUNDS} rounds of ${PER_ROUND} concurrent calls run in bounded memory and exit 0`, async () => {
  const answers = await mock.session({ models: { '*': [{ content: 'soak answer' }] } });
  const hangs = await mock.session({ models: { '*': [{ fault: 'hang' }] } });
  // The cache would answer most calls without the upstream round trip: off, so each is a call.
  const config = (s) => ({ ...s.openaiConfig(), cache: { mode: 'off' } });
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '-e', PROGRAM, JSON.stringify(config(answers)), JSON.stringify(config(hangs)), String(ROUNDS), String(PER_ROUND)],
    { timeout: 240_000, maxBuffer: 1 << 20 },
  );
  const { ok, mem, fds } = JSON.parse(stdout.trim().split('\n').pop());
  assert.equal(ok, ROUNDS * PER_ROUND, 'every call settled as expected');
  // mem[0] is before the first call, mem[k] after round k: [rss, heap] in MB.
  const growth = (i) => Math.min(...mem.slice(-3).map((m) => m[i])) - Math.min(...mem.slice(6, 9).map((m) => m[i]));
  const figures = (i) => mem.map((m) => m[i].toFixed(1)).join(' ');
  console.log(`soak: ${ROUNDS * PER_ROUND} calls; MB before and by round: RSS ${figures(0)}; heap ${figures(1)}`);
  assert.ok(growth(1) < HEAP_LIMIT_MB, `the heap grew ${growth(1).toFixed(1)} MB after settling: ${figures(1)}`);
  assert.ok(growth(0) < RSS_LIMIT_MB, `RSS grew ${growth(0).toFixed(1)} MB after settling: ${figures(0)}`);
  // An aborted call reached the mock at most once (some were aborted before they were sent),
  // and its connection was dropped with it: the open descriptors do not pile up from round
  // to round (a kept socket per aborted call would add hundreds each round).
  const reached = (await hangs.counters()).total;
  assert.ok(reached > 0 && reached <= (ROUNDS * PER_ROUND) / 4, `${reached} aborted calls reached the mock`);
  assert.ok(fds[fds.length - 1] - fds[0] < PER_ROUND / 40, `open descriptors by round: ${fds.join(', ')}`);
});
