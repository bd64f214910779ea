//! Uses of the package's declarations that must type-check under `--strict`, and misuses
//! (`@ts-expect-error`) that must not: test/types.test.js runs tsc over this file.

import Default, {
  Switchyard,
  Stream,
  SwitchyardError,
  APIStatusError,
  BudgetExceededError,
  RateLimitError,
  BadRequestError,
  APIError,
  type CallMeta,
  type ChatCompletion,
  type ChatCompletionChunk,
  type CreateEmbeddingResponse,
  type ModelsPage,
} from 'switchyard';

export async function uses(): Promise<void> {
  const same: typeof Switchyard = Default;
  const client: Switchyard = new same({ config: { version: 1 }, timeout: 1000 });
  const created: Switchyard = await Switchyard.create({ server: 'http://127.0.0.1:1', apiKey: 'sy_x', signal: AbortSignal.timeout(10) });

  const answer: ChatCompletion = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
  const meta: CallMeta = answer.switchyard;
  const cost: number = meta.cost_usd;
  const text: string | null = answer.choices[0].message.content;

  const stream: Stream = await client.chat.completions.create({ model: 'chat', messages: [], stream: true }, { signal: new AbortController().signal });
  for await (const chunk of stream) {
    const c: ChatCompletionChunk = chunk;
    void c;
  }
  const vectors: CreateEmbeddingResponse = await client.embeddings.create({ model: 'embed', input: ['a'] });
  const first: number[] = vectors.data[0].embedding;
  const page: ModelsPage = await client.models.list();
  for await (const model of page) void model.id;
  client.reload({ version: 1 });
  await created.close();
  void [cost, text, first];

  try {
    await client.close();
  } catch (error) {
    if (error instanceof BudgetExceededError) {
      const limit: RateLimitError = error;
      const status: number = limit.statusCode;
      const budget: string | null = error.budget;
      void [status, budget];
    }
    if (error instanceof BadRequestError) {
      const parent: APIStatusError = error;
      const field: string | null = parent.field;
      void field;
    }
    if (error instanceof SwitchyardError) {
      const alias: APIError = error;
      const code: string = alias.code;
      const retryable: boolean = alias.retryable;
      void [code, retryable];
    }
  }
}

export async function misuses(client: Switchyard): Promise<void> {
  // @ts-expect-error: a model is required
  await client.chat.completions.create({ messages: [] });
  // @ts-expect-error: not a chat role
  await client.chat.completions.create({ model: 'chat', messages: [{ role: 'wizard', content: 'x' }] });
  // @ts-expect-error: a stream is not a completion
  const wrong: ChatCompletion = await client.chat.completions.create({ model: 'chat', messages: [], stream: true });
  // @ts-expect-error: timeout is milliseconds, a number
  await client.embeddings.create({ model: 'embed', input: 'a' }, { timeout: '5s' });
  // @ts-expect-error: the factory is static
  await client.create({});
  // @ts-expect-error: apiKey is a string
  new Switchyard({ server: 'http://x', apiKey: 42 });
  void wrong;
}
