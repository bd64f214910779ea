// The official `openai` npm package, unchanged, pointed at the gateway with only `baseURL`
// and an app key: chat, streaming, tools, embeddings, models, and an error of each class
// raised as the package's own error class with the gateway's status and code.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const harness = new URL('../harness.py', import.meta.url).pathname;
const run = mkdtempSync(join(tmpdir(), 'switchyard-gateway-node-'));
const messages = [{ role: 'user', content: 'hi' }];
let env;

// No retries: an error must reach the test as the gateway sent it.
const client = (key = env.key) =>
  new OpenAI({ baseURL: `${env.url}/v1`, apiKey: key, maxRetries: 0 });

before(() => {
  execFileSync('python3', [harness, 'start', run], { stdio: ['ignore', 'ignore', 'inherit'] });
  env = JSON.parse(readFileSync(join(run, 'env.json'), 'utf8'));
});

after(() => {
  execFileSync('python3', [harness, 'stop', run], { stdio: 'inherit' });
});

test('chat', async () => {
  const { data, response, request_id } = await client()
    .chat.completions.create({ model: 'chat', messages })
    .withResponse();
  assert.equal(data.choices[0].message.content, 'Hello there');
  assert.equal(data.choices[0].finish_reason, 'stop');
  assert.ok(data.usage.total_tokens > 0);
  assert.equal(response.headers.get('x-switchyard-deployment'), 'mock/gpt-4o-mini');
  assert.equal(response.headers.get('x-switchyard-cache'), 'miss');
  assert.ok(Number(response.headers.get('x-switchyard-cost-usd')) > 0);
  assert.match(request_id, /^req_/);
});

test('streaming', async () => {
  const stream = await client().chat.completions.create({
    model: 'chat',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let last;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    last = chunk;
  }
  assert.equal(text, 'Hello there');
  assert.ok(last.usage.total_tokens > 0);
});

test('tools', async () => {
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    },
  ];
  const completion = await client().chat.completions.create({ model: 'tooly', messages, tools });
  const call = completion.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  assert.equal(completion.choices[0].finish_reason, 'tool_calls');

  const stream = await client().chat.completions.create({ model: 'tooly', messages, tools, stream: true });
  let args = '';
  for await (const chunk of stream) {
    args += chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
  }
  assert.deepEqual(JSON.parse(args), { city: 'Paris' });
});

test('embeddings', async () => {
  // The package asks for base64 by default and decodes it itself.
  const result = await client().embeddings.create({ model: 'embed', input: ['a', 'b'], dimensions: 4 });
  assert.deepEqual(result.data.map((d) => d.embedding.length), [4, 4]);
  const norm = result.data[0].embedding.reduce((s, x) => s + x * x, 0);
  assert.ok(Math.abs(norm - 1) < 1e-3, `${norm}`);
});

test('models', async () => {
  const ids = [];
  for await (const m of client().models.list()) ids.push(m.id);
  assert.ok(ids.includes('chat') && ids.includes('embed'), ids.join());
  assert.equal((await client().models.retrieve('chat')).id, 'chat');
  const limited = [];
  for await (const m of client(env.limited_key).models.list()) limited.push(m.id);
  assert.deepEqual(limited, ['chat']);
});

const errors = [
  ['ctx', OpenAI.BadRequestError, 400, 'context_length_exceeded'],
  ['no-such-model', OpenAI.NotFoundError, 404, 'model_not_found'],
  ['rl', OpenAI.RateLimitError, 429, 'rate_limit_exceeded'],
  ['pricey', OpenAI.RateLimitError, 429, 'insufficient_quota'],
  ['boom', OpenAI.InternalServerError, 502, 'upstream'],
  ['hang', OpenAI.InternalServerError, 504, 'timeout'],
];

for (const [model, cls, status, code] of errors) {
  test(`error: ${model} -> ${status} ${code}`, async () => {
    await assert.rejects(client().chat.completions.create({ model, messages }), (err) => {
      assert.ok(err instanceof cls, `${err}`);
      assert.equal(err.status, status);
      assert.equal(err.code, code);
      assert.match(err.requestID, /^req_/);
      if (model === 'rl') assert.equal(err.headers.get('retry-after'), '7');
      return true;
    });
  });
}

test('a wrong key, and a model the app may not use', async () => {
  await assert.rejects(client('sy_not_a_key').models.list(), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError, `${err}`);
    assert.equal(err.code, 'invalid_api_key');
    return true;
  });
  await assert.rejects(
    client(env.limited_key).embeddings.create({ model: 'embed', input: 'x' }),
    OpenAI.NotFoundError,
  );
});

test('a stream that breaks raises', async () => {
  const stream = await client().chat.completions.create({ model: 'cut', messages, stream: true });
  let said = '';
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) said += chunk.choices[0]?.delta?.content ?? '';
    })(),
    (err) => {
      assert.ok(err instanceof OpenAI.APIError, `${err}`);
      return true;
    },
  );
  assert.equal(said, 'one ');
});
