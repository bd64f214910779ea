// Seeding for the operations suites, all through the real APIs: a config version with a
// model whose deployments carry version labels, a rollout of it, usage on both arms posted
// to /sdk/v1/usage with an app key (gzip JSON batches, as the SDK sends them), a webhook
// receiver on loopback with an alert channel and a health rule that fires on that usage,
// and one user per role.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before } from 'node:test';
import { gzipSync } from 'node:zlib';
import { launch } from './browser.mjs';
import { startServer } from './server.mjs';

export const ROLES = ['infra_admin', 'model_ops', 'interface_dev', 'resource_manager', 'security_engineer', 'app_developer'];
export const ROLE_PASSWORD = 'a long enough password';
export const CANARY = 'canary';

/** A user per role (username = role), bound at tenant scope. */
export async function seedRoleUsers(server) {
  for (const role of ROLES) {
    const user = await server.api('POST', '/users', { username: role, password: ROLE_PASSWORD });
    await server.api('PATCH', `/users/${user.id}`, { bindings: [{ role }] });
  }
}

/** The active config plus model `canary` on two labelled deployments, stored and activated. */
async function canaryConfig(server) {
  const active = await server.api('GET', '/configs/active');
  const document = structuredClone(active.version.document);
  document.models[CANARY] = {
    deployments: [
      { provider: 'openai', model: 'gpt-4o-mini', name: 'canary-base', version: 'v1' },
      { provider: 'openai', model: 'gpt-4.1-mini', name: 'canary-next', version: 'v2' },
    ],
  };
  const v = await server.api('POST', '/configs', { document, label: 'canary deployments' });
  await server.api('POST', `/configs/${v.id}/activate`);
}

/** A rollout of `canary` v1 → v2 that neither advances nor rolls back by itself. */
export function startRollout(server, name) {
  const never = { dwell_secs: 86400, min_samples: 1000000 };
  return server.api('POST', '/rollouts', {
    name,
    model: CANARY,
    baseline: 'v1',
    candidate: 'v2',
    steps: [{ percent: 10, ...never }, { percent: 50, ...never }, { percent: 100 }],
    guards: { min_samples: 1000000 },
  });
}

function event(timeMs, arm, deployment, ok, latencyMs) {
  return {
    id: randomUUID(), time_ms: timeMs, tenant: null, app: null, user: `u${Math.floor(latencyMs) % 7}`,
    model: CANARY, deployment, provider: 'openai', upstream_model: deployment === 'canary-base' ? 'gpt-4o-mini' : 'gpt-4.1-mini',
    prompt_tokens: 120, completion_tokens: 30, cached_tokens: 0, cost_usd: arm === 'v1' ? 0.0004 : 0.0006,
    latency_ms: latencyMs, ttft_ms: 80, status: ok ? 'ok' : { error: { code: 'server_error' } },
    cache_hit: false, attempts: 1, fallback: null, fallbacks: 0, arm, local: false, stream: false, tags: [], metadata: {},
  };
}

/**
 * Usage on both arms over `minutes` minutes from `startMs`: the candidate takes `perMinute`
 * calls a minute and fails one in five, the baseline three times as many, none failing.
 */
export function armEvents(startMs, minutes = 4, perMinute = 20) {
  const events = [];
  for (let m = 0; m < minutes; m++) {
    for (let i = 0; i < 3 * perMinute; i++) {
      const t = startMs + m * 60_000 + i * 100;
      events.push(event(t, 'v1', 'canary-base', true, 300 + ((i * 37 + m * 50) % 400)));
      if (i < perMinute) events.push(event(t, 'v2', 'canary-next', i % 5 !== 0, 450 + ((i * 53 + m * 90) % 600)));
    }
  }
  return events;
}

/** Posts `events` to /sdk/v1/usage with `key` as one gzip batch; the server's answer. */
export async function postUsage(server, key, events) {
  const r = await fetch(`${server.url}/sdk/v1/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify({ dropped: 0, events })),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST /sdk/v1/usage: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A loopback HTTP server that records the alert webhooks it receives. */
export function webhookReceiver() {
  const received = [];
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  return new Promise((ok) =>
    http.listen(0, '127.0.0.1', () => ok({ url: `http://127.0.0.1:${http.address().port}/hook`, received, close: () => http.close() })),
  );
}

/**
 * Everything the operations pages show: returns `{rollout, key, events, channel, rule, hook}`.
 * The usage is stamped from the rollout's start on, up to three minutes ahead of now (the
 * server takes events up to a day ahead, for clock skew), so its charts have several points.
 */
export async function seedOps(server) {
  await canaryConfig(server);
  const root = (await server.api('GET', '/departments')).items.find((d) => d.parent_id === null);
  const app = await server.api('POST', '/apps', { department_id: root.id, name: 'ops-seed' });
  const { secret: key } = await server.api('POST', `/apps/${app.id}/keys`, { name: 'sdk' });
  const rollout = await startRollout(server, 'canary-v2');
  const events = armEvents(rollout.created_at);
  await postUsage(server, key, events);

  const hook = await webhookReceiver();
  const channel = await server.api('POST', '/alert-channels', { name: 'ops-hook', kind: 'webhook', url: hook.url });
  const rule = await server.api('POST', '/alerts/health/rules', {
    name: 'canary errors',
    kind: 'error_rate',
    channel_ids: [channel.id],
    params: { window_minutes: 10, threshold: 0.1, min_calls: 5 },
  });
  return { rollout, key, events, channel, rule, hook };
}

/** Polls `check` (async, truthy when done) every 250 ms up to `ms`; its last value. */
export async function until(check, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A suite's fresh server, seeded (seedOps, one user per role) before its tests and stopped
 * after them, with a browser: `{server, browser, seeded}`, filled in once `before` ran.
 */
export function seededSuite() {
  const suite = {};
  before(async () => {
    suite.server = await startServer();
    suite.seeded = await seedOps(suite.server);
    await seedRoleUsers(suite.server);
    suite.browser = await launch();
  });
  after(async () => {
    suite.seeded?.hook.close();
    await suite.browser?.close();
    suite.server?.stop();
  });
  return suite;
}
