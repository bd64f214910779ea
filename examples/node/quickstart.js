//! Switchyard from Node (plain JavaScript): a chat call, the cache, a stream, embeddings,
//! an error naming its field, the models.
//!
//! Run against the mock provider (from the repository root):
//!
//!     make node-sdk && (cd examples/node && npm ci --ignore-scripts)
//!     target/debug/switchyard-mock --addr 127.0.0.1:0   # prints: listening on http://127.0.0.1:PORT
//!     SWITCHYARD_MOCK_URL=http://127.0.0.1:PORT node examples/node/quickstart.js
'use strict';

const { Switchyard, BadRequestError } = require('switchyard');

/** The same document as a switchyard.yaml, as an object. */
function config(baseUrl) {
  return {
    version: 1,
    providers: { oa: { kind: 'openai', base_url: `${baseUrl}/v1`, api_key: 'sk-demo' } },
    models: {
      chat: { deployments: [{ provider: 'oa', model: 'gpt-4o-mini' }] },
      embed: { type: 'embedding', deployments: [{ provider: 'oa', model: 'text-embedding-3-small' }] },
    },
  };
}

async function main() {
  const baseUrl = process.env.SWITCHYARD_MOCK_URL || 'http://127.0.0.1:8080';
  const client = new Switchyard({ config: config(baseUrl) });
  try {
    const messages = [{ role: 'user', content: 'Say hello.' }];

    const r = await client.chat.completions.create({ model: 'chat', messages, temperature: 0 });
    console.log('answer:', r.choices[0].message.content);
    console.log('tokens:', r.usage?.total_tokens ?? null);
    console.log('served by:', r.switchyard.deployment, `$${r.switchyard.cost_usd.toFixed(6)}`);

    const again = await client.chat.completions.create({ model: 'chat', messages, temperature: 0 });
    console.log('second call from the cache:', again.switchyard.cache_hit);

    let text = '';
    const stream = await client.chat.completions.create({ model: 'chat', messages, stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    console.log('stream:', text);

    const vectors = await client.embeddings.create({ model: 'embed', input: ['a', 'b'] });
    console.log('embeddings:', vectors.data.length, 'x', vectors.data[0].embedding.length);

    try {
      await client.chat.completions.create({ model: 'chat', messages: [{ role: 'wizard', content: 'x' }] });
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      console.log('bad request, field:', error.field);
    }

    const models = await client.models.list();
    console.log('models:', models.data.map((m) => m.id).join(', '));
  } finally {
    await client.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
