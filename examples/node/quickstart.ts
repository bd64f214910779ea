//! Switchyard from TypeScript: the client built off the event loop (`Switchyard.create`),
//! typed params and results, an abortable stream, errors narrowed by class. Type-checked by
//! `tsc --strict` in bindings-node's tests (test/types.test.js).
//!
//! Type-check it (from the repository root; quickstart.js is the example to run):
//!
//!     (cd bindings-node && npm ci --ignore-scripts) && (cd examples/node && npm ci --ignore-scripts)
//!     bindings-node/node_modules/.bin/tsc -p examples/node

import {
  Switchyard,
  RateLimitError,
  SwitchyardError,
  type ChatCompletion,
  type ChatCompletionCreateParamsNonStreaming,
  type ClientOptions,
} from 'switchyard';

function options(baseUrl: string): ClientOptions {
  return {
    config: {
      version: 1,
      providers: { oa: { kind: 'openai', base_url: `${baseUrl}/v1`, api_key: 'sk-demo' } },
      models: { chat: { deployments: [{ provider: 'oa', model: 'gpt-4o-mini' }] } },
    },
    timeout: 30_000,
    maxRetries: 1,
  };
}

/** The answer's text, or why there is none. */
function describe(r: ChatCompletion): string {
  const content = r.choices[0]?.message.content;
  return content ?? `no text (finish_reason ${r.choices[0]?.finish_reason ?? 'none'})`;
}

async function main(): Promise<void> {
  const baseUrl = process.env.SWITCHYARD_MOCK_URL ?? 'http://127.0.0.1:8080';
  // With `{ server, apiKey }` this waits for the server's config without blocking the loop.
  const client = await Switchyard.create(options(baseUrl));
  try {
    const params: ChatCompletionCreateParamsNonStreaming = { model: 'chat', messages: [{ role: 'user', content: 'Say hello.' }] };
    const r = await client.chat.completions.create(params, { user: 'user-42', tags: ['example'] });
    console.log('answer:', describe(r));
    console.log('attempts:', r.switchyard.attempts, 'local:', r.switchyard.local);

    const controller = new AbortController();
    const stream = await client.chat.completions.create({ ...params, stream: true }, { signal: controller.signal });
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      if (chunk.choices[0]?.finish_reason) break;
    }
    console.log('chunks:', chunks, 'from', stream.switchyard.deployment);
  } catch (error) {
    if (error instanceof RateLimitError) console.error('rate limited; retry after', error.retryAfter, 's');
    else if (error instanceof SwitchyardError) console.error(error.code, error.field ?? '', error.detail);
    throw error;
  } finally {
    await client.close();
  }
}

main().catch(() => {
  process.exitCode = 1;
});
