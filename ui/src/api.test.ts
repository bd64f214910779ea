import { describe, expect, it } from 'vitest';
import { Api, ApiError, errorMessage } from './api';

function fakeFetch(status: number, body: string, seen: { url?: string; init?: RequestInit }[]) {
  return (async (url: string, init?: RequestInit) => {
    seen.push({ url, init });
    return new Response(body, { status });
  }) as unknown as typeof fetch;
}

describe('Api', () => {
  it('sends the bearer token and JSON, and parses the answer', async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    const api = new Api('tok', fakeFetch(200, '{"items":[1]}', seen));
    expect(await api.post('/apps', { name: 'x' })).toEqual({ items: [1] });
    const headers = seen[0].init?.headers as Record<string, string>;
    expect(seen[0].url).toBe('/api/v1/apps');
    expect(headers.authorization).toBe('Bearer tok');
    expect(headers['content-type']).toBe('application/json');
    expect(seen[0].init?.body).toBe('{"name":"x"}');
  });
  it("turns an error status into an ApiError with the server's message", async () => {
    const api = new Api(null, fakeFetch(403, '{"code":"forbidden","message":"forbidden","field":null}', []));
    const err = await api.get('/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).forbidden).toBe(true);
    expect((err as ApiError).message).toBe('forbidden');
  });
  it('keeps the login token for later calls', async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    const api = new Api(null, fakeFetch(201, '{"token":"abc"}', seen));
    expect(await api.login('t', 'u', 'p')).toBe('abc');
    await api.get('/me');
    expect((seen[1].init?.headers as Record<string, string>).authorization).toBe('Bearer abc');
  });
});

describe('errorMessage', () => {
  it('names the field, and falls back to the status', () => {
    expect(errorMessage(422, { code: 'invalid', message: 'too long', field: 'name' })).toBe('name: too long');
    expect(errorMessage(502, undefined)).toBe('HTTP 502');
  });
});
