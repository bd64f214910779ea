//! The client works from `worker_threads`: a worker makes its own client and calls, and
//! the process exits once the worker is done.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { Worker } = require('node:worker_threads');

const { Mock } = require('./support/mock');

let mock;
before(async () => {
  mock = await Mock.start();
});
after(() => mock.stop());

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Switchyard } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
(async () => {
  const client = new Switchyard({ config: workerData.config });
  const answers = await Promise.all(Array.from({ length: 5 }, () =>
    client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })));
  const error = await client.chat.completions.create({ model: 'chat', messages: [] }).catch((e) => e);
  parentPort.postMessage({ texts: answers.map((a) => a.choices[0].message.content), error: error.constructor.name });
})();
`;

test('calls from worker threads, two at once', async () => {
  const s = await mock.session({ models: { '*': [{ content: 'from a worker' }] } });
  const run = () =>
    new Promise((resolve, reject) => {
      const worker = new Worker(WORKER, { eval: true, workerData: { config: s.openaiConfig() } });
      let message;
      worker.once('message', (m) => {
        message = m;
      });
      worker.once('error', reject);
      worker.once('exit', (code) => (code === 0 ? resolve(message) : reject(new Error(`worker exited ${code}`))));
    });
  const [a, b] = await Promise.all([run(), run()]);
  for (const out of [a, b]) {
    assert.deepEqual(out.texts, Array(5).fill('from a worker'));
    assert.equal(out.error, 'BadRequestError');
  }
});

test('a worker terminated with calls in flight leaves the process running', async () => {
  const s = await mock.session({ models: { '*': [{ content: 'slow', latency_ms: 300 }] } });
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Switchyard } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
    const client = new Switchyard({ config: workerData.config });
    for (let i = 0; i < 10; i += 1) {
      client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { cache: 'bypass' }).catch(() => {});
    }
    parentPort.postMessage('started');
    `,
    { eval: true, workerData: { config: s.openaiConfig() } },
  );
  await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
  // The calls finish in the engine after their environment is gone; they must not touch it.
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.equal((await s.counters()).total, 10);
});
