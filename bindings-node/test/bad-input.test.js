//! Bad input from JavaScript: wrong types, `undefined` where a value belongs, missing
//! fields, values JSON cannot carry (BigInt, Symbol, functions, NaN, cycles, deep nesting),
//! huge payloads. Each is a typed error naming the field, sent nowhere, and the process
//! lives on (a cycle reaching native code used to kill it with a stack overflow).
'use strict';

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');

const switchyard = require('../lib');
const { Switchyard, BadRequestError, ConfigError } = switchyard;
const { Mock } = require('./support/mock');

const HI = [{ role: 'user', content: 'hi' }];
let mock;
let session;
let client;

before(async () => {
  mock = await Mock.start();
  session = await mock.session({ models: { '*': [{ content: 'fine' }] } });
  client = new Switchyard({ config: session.openaiConfig() });
});
after(async () => {
  await client.close();
  mock.stop();
});

/** The rejection of `promise`, asserted to be `cls` naming `field`. */
async function refused(promise, cls, field) {
  assert.ok(promise instanceof Promise, 'bad arguments reject, they do not throw');
  const error = await promise.then(
    () => assert.fail('accepted'),
    (e) => e,
  );
  assert.ok(error instanceof cls, `${error?.constructor?.name}: ${error?.message}`);
  assert.equal(error.field, field, error.message);
  assert.equal(error.param, field);
  return error;
}

function cyclic() {
  const message = { role: 'user', content: 'x' };
  message.self = message;
  return message;
}

function nested(levels) {
  const root = {};
  let at = root;
  for (let i = 0; i < levels; i += 1) {
    at.a = {};
    at = at.a;
  }
  return root;
}

const CHAT_CASES = [
  ['model undefined', { model: undefined, messages: HI }, 'model'],
  ['model a number', { model: 42, messages: HI }, 'model'],
  ['messages missing', { model: 'chat' }, 'messages'],
  ['messages a string', { model: 'chat', messages: 'hi' }, 'messages'],
  ['content undefined', { model: 'chat', messages: [{ role: 'user', content: undefined }] }, 'messages[0].content'],
  ['content a number', { model: 'chat', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
  ['role missing', { model: 'chat', messages: [{ content: 'x' }] }, 'messages[0].role'],
  ['a hole in messages', { model: 'chat', messages: [HI[0], undefined] }, 'messages[1]'],
  ['max_tokens a string', { model: 'chat', messages: HI, max_tokens: '10' }, 'max_tokens'],
  ['a BigInt', { model: 'chat', messages: HI, seed: 10n }, 'seed'],
  ['a Symbol', { model: 'chat', messages: HI, user: Symbol('u') }, 'user'],
  ['a function', { model: 'chat', messages: HI, user: () => 'u' }, 'user'],
  ['NaN', { model: 'chat', messages: HI, temperature: NaN }, 'temperature'],
  ['Infinity', { model: 'chat', messages: HI, top_p: Infinity }, 'top_p'],
  ['a Map', { model: 'chat', messages: HI, response_format: new Map([['type', 'json_object']]) }, 'response_format'],
  ['a Buffer', { model: 'chat', messages: [{ role: 'user', content: Buffer.from('hi') }] }, 'messages[0].content'],
  ['a cycle', { model: 'chat', messages: [cyclic()] }, 'messages[0].self'],
];

for (const [name, params, field] of CHAT_CASES) {
  test(`chat: ${name} is a BadRequestError naming ${field}`, async () => {
    await refused(client.chat.completions.create(params), BadRequestError, field);
    await refused(client.chat.completions.create({ ...params, stream: true }), BadRequestError, field);
  });
}

test('nesting deeper than the limit is refused at its path, not a native stack overflow', async () => {
  for (const levels of [200, 100_000]) {
    const error = await refused(client.chat.completions.create({ model: 'chat', messages: HI, extra: nested(levels) }), BadRequestError, `extra${'.a'.repeat(127)}`);
    assert.match(error.detail, /deeper than 128/);
  }
  // Deep but within the limit crosses.
  const r = await client.chat.completions.create({ model: 'chat', messages: HI, nested_for_test: nested(100) }, { cache: 'bypass' });
  assert.equal(r.choices[0].message.content, 'fine');
});

test('params that are not an object are a BadRequestError', async () => {
  for (const params of [undefined, null, 'hi', 42, [HI]]) {
    const error = await refused(client.chat.completions.create(params), BadRequestError, '');
    assert.match(error.detail, /expected struct ChatRequest/);
    await refused(client.embeddings.create(params), BadRequestError, '');
  }
});

test('embeddings: missing or mistyped input names input', async () => {
  await refused(client.embeddings.create({ model: 'embed' }), BadRequestError, 'input');
  await refused(client.embeddings.create({ model: 'embed', input: undefined }), BadRequestError, 'input');
  await refused(client.embeddings.create({ model: 'embed', input: [1, 'a'] }), BadRequestError, 'input');
  await refused(client.embeddings.create({ model: 'embed', input: ['a', undefined] }), BadRequestError, 'input[1]');
  await refused(client.embeddings.create({ model: 'embed', input: ['a'], dimensions: 10n }), BadRequestError, 'dimensions');
});

test('call options: wrong types name the option', async () => {
  const call = (options) => client.chat.completions.create({ model: 'chat', messages: HI }, options);
  await refused(call({ timeout: 'soon' }), BadRequestError, 'timeout');
  await refused(call({ timeout: -1 }), BadRequestError, 'timeout');
  await refused(call({ maxRetries: 1.5 }), BadRequestError, 'maxRetries');
  await refused(call({ tags: 'a' }), BadRequestError, 'tags');
  await refused(call({ user: 7 }), BadRequestError, 'user');
  await refused(call({ metadata: { team: 1n } }), BadRequestError, 'metadata.team');
  await refused(call({ signal: 'stop' }), BadRequestError, 'signal');
  await refused(call('fast'), BadRequestError, null);
  // null and undefined options are none.
  assert.equal((await call(null)).choices[0].message.content, 'fine');
  assert.equal((await call(undefined)).choices[0].message.content, 'fine');
});

test('constructor and factory: wrong types name the option, in its JavaScript spelling', async () => {
  const cases = [
    [5, BadRequestError, null],
    [{ server: 'http://127.0.0.1:1' }, BadRequestError, 'apiKey'],
    [{ server: 'http://127.0.0.1:1', apiKey: 5 }, BadRequestError, 'apiKey'],
    [{ config: session.openaiConfig(), watch: 'often' }, BadRequestError, 'watch'],
    [{ config: session.openaiConfig(), timeout: 'x' }, BadRequestError, 'timeout'],
    [{ config: session.openaiConfig(), maxRetries: -1 }, BadRequestError, 'maxRetries'],
    [{ config: { ...session.openaiConfig(), extra: 1n } }, BadRequestError, 'config.extra'],
    [{ config: 5 }, ConfigError, ''],
    [{ config: { version: 1, models: 'none' } }, ConfigError, 'models'],
  ];
  for (const [options, cls, field] of cases) {
    const thrown = (() => {
      try {
        return new Switchyard(options);
      } catch (error) {
        return error;
      }
    })();
    assert.ok(thrown instanceof cls, `new Switchyard(${String(options)}): ${thrown?.message}`);
    assert.equal(thrown.field, field, thrown.message);
    await refused(Switchyard.create(options), cls, field);
  }
});

test('reload: nothing, or a value JSON cannot carry, names config', () => {
  for (const config of [undefined, null, { version: 1, x: Symbol('s') }]) {
    assert.throws(() => client.reload(config), (e) => e instanceof BadRequestError && e.field === (config ? 'config.x' : 'config'));
  }
  assert.throws(() => client.reload(5), ConfigError);
});

test('nothing bad was sent upstream', async () => {
  const requests = await session.requests();
  assert.ok(requests.every((r) => r.body.messages?.[0]?.content === 'hi'), JSON.stringify(requests.map((r) => r.body)));
});

test('huge payloads cross whole, and the process lives on', async () => {
  const content = 'x'.repeat(16 * 1024 * 1024);
  const big = await mock.session({ models: { '*': [{ content: 'big' }] } });
  const huge = new Switchyard({ config: big.openaiConfig() });
  try {
    const before = process.memoryUsage().rss;
    const r = await huge.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content }] });
    assert.equal(r.choices[0].message.content, 'big');
    const many = Array.from({ length: 50_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` }));
    const r2 = await huge.chat.completions.create({ model: 'chat', messages: many });
    assert.equal(r2.choices[0].message.content, 'big');
    const sent = await big.requests();
    assert.equal(sent.length, 2);
    assert.equal(sent[0].body.messages[0].content.length, content.length);
    assert.equal(sent[1].body.messages.length, 50_000);
    const vectors = await huge.embeddings.create({ model: 'embed', input: Array.from({ length: 20_000 }, (_, i) => `t${i}`) });
    assert.equal(vectors.data.length, 20_000);
    assert.ok(process.memoryUsage().rss - before < 1024 * 1024 * 1024, 'memory stayed bounded');
  } finally {
    await huge.close();
  }
});
