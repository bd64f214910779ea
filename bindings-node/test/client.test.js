//! The Node SDK against the mock provider: shapes, streams, embeddings, models, errors and
//! cancellation, as the Python binding's own tests check them.
'use strict';

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');

const switchyard = require('../lib');
const { Switchyard } = switchyard;
const { Mock } = require('./support/mock');

const HI = [{ role: 'user', content: 'hi' }];
let mock;

before(async () => {
  mock = await Mock.start();
});
after(() => mock.stop());

test('chat answers in the openai shape with the metadata', async () => {
  const s = await mock.session({ models: { 'gpt-4o-mini': [{ content: 'Hello there!', usage: { prompt_tokens: 10, completion_tokens: 3 } }] } });
  const client = new Switchyard({ config: s.openaiConfig() });
  const r = await client.chat.completions.create({ model: 'chat', messages: HI });
  assert.equal(r.choices[0].message.content, 'Hello there!');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage.total_tokens, 13);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.switchyard.deployment, 'oa/gpt-4o-mini');
  assert.equal(r.switchyard.attempts, 1);
  assert.ok(r.switchyard.cost_usd > 0);
  await client.close();
  assert.ok(client.closed);
  await assert.rejects(client.chat.completions.create({ model: 'chat', messages: HI }), switchyard.UnavailableError);
});

test('calls run concurrently without blocking the event loop', async () => {
  const s = await mock.session({ models: { '*': [{ content: 'slow', latency_ms: 300 }] } });
  const client = new Switchyard({ config: s.openaiConfig() });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => client.chat.completions.create({ model: 'chat', messages: HI, cache: 'bypass' })),
  );
  clearInterval(timer);
  assert.equal(answers.length, 8);
  assert.ok(Date.now() - started < 2000, 'the calls overlapped');
  assert.ok(ticks >= 10, `the event loop ran meanwhile (${ticks} ticks)`);
  await client.close();
});

test('a stream is an async iterable of chunks with its metadata', async () => {
  const s = await mock.session({ models: { 'gpt-4o-mini': [{ content: 'one two three' }] } });
  const client = new Switchyard({ config: s.openaiConfig() });
  const stream = await client.chat.completions.create({ model: 'chat', messages: HI, stream: true });
  let text = '';
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, 'one two three');
  assert.equal(stream.switchyard.deployment, 'oa/gpt-4o-mini');
  assert.ok(stream.closed);
  await client.close();
});

test('breaking out of a stream closes it', async () => {
  const s = await mock.session({ models: { 'gpt-4o-mini': [{ content: 'a b c d e f g h' }] } });
  const client = new Switchyard({ config: s.openaiConfig() });
  const stream = await client.chat.completions.create({ model: 'chat', messages: HI, stream: true });
  for await (const chunk of stream) {
    assert.ok(chunk);
    break;
  }
  assert.ok(stream.closed);
  await client.close();
});

test('embeddings and models', async () => {
  const s = await mock.session();
  const client = new Switchyard({ config: s.openaiConfig() });
  const e = await client.embeddings.create({ model: 'embed', input: ['a', 'b'], dimensions: 4 });
  assert.equal(e.data.length, 2);
  assert.equal(e.data[0].embedding.length, 4);
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), ['chat', 'embed']);
  const ids = [];
  for await (const m of page) ids.push(m.id);
  assert.deepEqual(ids, ['chat', 'embed']);
  await client.close();
});

for (const [step, cls, code, status] of [
  [{ status: 429, retry_after: '7' }, switchyard.RateLimitError, 'rate_limited', 429],
  [{ status: 400, error_type: 'context_length_exceeded' }, switchyard.ContextWindowExceededError, 'context_window_exceeded', null],
  [{ status: 400, error_type: 'content_filter' }, switchyard.ContentPolicyError, 'content_policy', null],
  [{ status: 401 }, switchyard.AuthenticationError, 'auth', null],
  [{ status: 404 }, switchyard.NotFoundError, 'upstream', 404],
  [{ fault: 'reset' }, switchyard.NetworkError, 'network', null],
]) {
  test(`a provider's ${JSON.stringify(step)} is a ${cls.name}`, async () => {
    const s = await mock.session({ models: { '*': [step] } });
    const client = new Switchyard({ config: s.openaiConfig({ retry: { max_attempts: 1 } }) });
    const error = await client.chat.completions.create({ model: 'chat', messages: HI }).then(
      () => assert.fail('no error'),
      (e) => e,
    );
    assert.ok(error instanceof cls, `${error.constructor.name}: ${error.message}`);
    assert.ok(error instanceof switchyard.SwitchyardError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    if (code === 'rate_limited') {
      assert.equal(error.retryAfter, 7);
      assert.equal(error.retryable, true);
      assert.equal(error.statusCode, 429);
    }
    await client.close();
  });
}

test('bad input names the field and sends nothing', async () => {
  const s = await mock.session();
  const client = new Switchyard({ config: s.openaiConfig() });
  for (const [params, field] of [
    [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ messages: HI, temperature: 'hot' }, 'temperature'],
    [{ messages: [] }, 'messages'],
  ]) {
    const error = await client.chat.completions.create({ model: 'chat', ...params }).catch((e) => e);
    assert.ok(error instanceof switchyard.BadRequestError, String(error));
    assert.equal(error.field, field);
    assert.equal(error.param, field);
  }
  const error = await client.chat.completions.create({ model: 'chat', messages: HI }, { tags: 'not-a-list' }).catch((e) => e);
  assert.ok(error instanceof switchyard.BadRequestError, String(error));
  assert.equal(error.field, 'tags');
  assert.equal((await s.counters()).total, 0);
  await client.close();
});

test('a bad config is a ConfigError thrown by the constructor', () => {
  assert.throws(
    () => new Switchyard({ config: { version: 1, models: { m: { deployments: [{ provider: 'nope', model: 'x' }] } } } }),
    switchyard.ConfigError,
  );
});

test('the timeout option (ms) ends a hanging call with a TimeoutError', async () => {
  const s = await mock.session({ models: { '*': [{ fault: 'hang' }] } });
  const client = new Switchyard({ config: s.openaiConfig() });
  const started = Date.now();
  const error = await client.chat.completions.create({ model: 'chat', messages: HI }, { timeout: 300 }).catch((e) => e);
  assert.ok(error instanceof switchyard.TimeoutError, String(error));
  assert.ok(error instanceof switchyard.APIConnectionError);
  assert.ok(Date.now() - started < 3000);
  await client.close();
});

test('an AbortSignal cancels the call and drops the upstream request', async () => {
  const s = await mock.session({ models: { '*': [{ fault: 'hang' }] } });
  const client = new Switchyard({ config: s.openaiConfig() });
  const controller = new AbortController();
  const pending = client.chat.completions.create({ model: 'chat', messages: HI }, { signal: controller.signal });
  let aborted;
  setTimeout(() => {
    aborted = Date.now();
    controller.abort();
  }, 200);
  const error = await pending.catch((e) => e);
  assert.ok(error instanceof switchyard.CanceledError, String(error));
  assert.ok(Date.now() - aborted < 500, 'settled promptly after the abort');
  const counters = await s.counters();
  assert.equal(counters.total, 1);
  await client.close();
  // Aborted before it starts: settles at once, nothing sent.
  const client2 = new Switchyard({ config: s.openaiConfig() });
  const early = await client2.chat.completions.create({ model: 'chat', messages: HI }, { signal: AbortSignal.abort() }).catch((e) => e);
  assert.ok(early instanceof switchyard.CanceledError, String(early));
  await client2.close();
});

test('aborting a stream ends its iteration with a CanceledError and closes it', async () => {
  const words = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ');
  const s = await mock.session({ models: { '*': [{ content: words, inter_token_ms: 100 }] } });
  const client = new Switchyard({ config: s.openaiConfig() });
  const stream = await client.chat.completions.create({ model: 'chat', messages: HI, stream: true });
  let seen = 0;
  const error = await (async () => {
    for await (const chunk of stream) {
      assert.ok(chunk);
      seen += 1;
      if (seen === 2) stream.controller.abort();
    }
  })().catch((e) => e);
  assert.ok(error instanceof switchyard.CanceledError, String(error));
  assert.ok(seen < 10, `stopped early (${seen} chunks)`);
  assert.ok(stream.closed);
  await client.close();
});

test('withOptions caps retries on a copy that shares the engine; metrics and config read it', async () => {
  const s = await mock.session({ models: { '*': [{ status: 500 }, { status: 500 }, { content: 'third time' }] } });
  const client = new Switchyard({ config: s.openaiConfig({ retry: { max_attempts: 3, initial_backoff_ms: 1 } }) });
  const once = client.withOptions({ maxRetries: 0 });
  assert.ok(once instanceof Switchyard && once !== client);
  await assert.rejects(once.chat.completions.create({ model: 'chat', messages: HI }), switchyard.UpstreamServerError);
  assert.equal((await s.counters()).total, 1, 'maxRetries: 0 tried the deployment once');
  // The original keeps its defaults: it retries past the second 500.
  const r = await client.chat.completions.create({ model: 'chat', messages: HI });
  assert.equal(r.choices[0].message.content, 'third time');
  assert.equal(r.switchyard.attempts, 2);
  // One engine behind both: its metrics count every call, and config() is the document in force.
  const calls = client.metrics().deployments.reduce((n, d) => n + d.calls, 0);
  assert.equal(calls, once.metrics().deployments.reduce((n, d) => n + d.calls, 0));
  assert.equal(calls, 2);
  assert.deepEqual(Object.keys(once.config().models).sort(), ['chat', 'embed']);
  assert.throws(() => client.withOptions({ timeout: -1 }), (e) => e instanceof switchyard.BadRequestError && e.field === 'timeout');
  assert.throws(() => client.withOptions({ retries: 1 }), (e) => e instanceof switchyard.BadRequestError && e.field === 'retries');
  await once.close();
  assert.ok(client.closed, 'closing the copy closed the engine both share');
  assert.throws(() => client.metrics(), switchyard.SwitchyardError);
});
