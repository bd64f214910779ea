// Usage for the usage pages' browser suite, seeded as SDKs send it: departments and apps
// with keys made through the management API, then batches of usage events posted to
// POST /sdk/v1/usage with each app's key (errors, cache hits, in-process calls, three
// deployments, two weeks of hourly calls on a self-hosted one for the forecast), budgets,
// a live lease taken as an SDK instance does, and the users who read it all. Returns what
// was seeded, so the tests check the pages' numbers against it.

import { randomUUID } from 'node:crypto';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
export const USER_PASSWORD = 'a long enough password';

function event(time_ms, { model, deployment, provider, micros = 0, latency = 300, error, cache = false, local = false }) {
  return {
    id: randomUUID(),
    time_ms,
    tenant: null,
    app: null,
    user: 'u1',
    model,
    deployment,
    provider,
    upstream_model: deployment.split('/')[1],
    prompt_tokens: 120,
    completion_tokens: 30,
    cached_tokens: cache ? 120 : 0,
    cost_usd: micros / 1e6,
    latency_ms: latency,
    ttft_ms: 50,
    status: error ? { error: { code: error } } : 'ok',
    cache_hit: cache,
    attempts: 1,
    fallback: null,
    fallbacks: 0,
    arm: null,
    local,
    stream: false,
    tags: [],
    metadata: {},
  };
}

const CHAT = { model: 'chat', deployment: 'openai/gpt-4o-mini', provider: 'openai' };
const LOCAL = { model: 'local-chat', deployment: 'local/smollm2-135m-instruct', provider: 'local', local: true };
const LLAMA = { model: 'llama', deployment: 'vllm/llama', provider: 'vllm' };

/** Calls in an hour of the self-hosted model's history: busy in UTC working hours. */
const llamaCalls = (hourStart) => {
  const h = new Date(hourStart).getUTCHours();
  return h >= 8 && h < 18 ? 6 : 2;
};

export async function seedUsage(server) {
  const { api, url } = server;
  const now = Date.now();

  // A self-hosted deployment with a per-replica throughput, for the replica advice.
  const active = await api('GET', '/configs/active');
  const document = structuredClone(active.version.document);
  document.providers.vllm = { kind: 'vllm', base_url: 'http://127.0.0.1:9/v1' };
  document.models.llama = { deployments: [{ provider: 'vllm', model: 'llama', capacity: { rpm: 2 } }] };
  const version = await api('POST', '/configs', { document, label: 'with vllm' });
  await api('POST', `/configs/${version.id}/activate`, {});

  const root = (await api('GET', '/departments?limit=500')).items.find((d) => d.parent_id === null);
  const dept = async (name, parent) => (await api('POST', '/departments', { name, parent_id: parent })).id;
  const engineering = await dept('Engineering', root.id);
  const ml = await dept('ML', engineering);
  const sales = await dept('Sales', root.id);
  const app = async (name, department_id) => {
    const a = await api('POST', '/apps', { name, department_id });
    const k = await api('POST', `/apps/${a.id}/keys`, { name: 'sdk' });
    return { id: a.id, key: k.secret };
  };
  const apps = { search: await app('search', engineering), ranker: await app('ranker', ml), crm: await app('crm', sales) };

  const events = { search: [], ranker: [], crm: [] };
  // The last seven days (today included): chat calls with an error and cache hits a day,
  // and the CRM's in-process calls.
  for (let d = 0; d < 7; d++) {
    for (let i = 0; i < 10; i++) {
      const t = now - d * DAY - 10 * MINUTE - i * MINUTE;
      const error = i === 0 ? 'upstream_5xx' : undefined;
      const cache = i === 1 || i === 2;
      events.search.push(event(t, { ...CHAT, micros: cache ? 0 : 12_000, latency: 200 + i * 100, error, cache }));
    }
    for (let i = 0; i < 5; i++) {
      const t = now - d * DAY - 20 * MINUTE - i * MINUTE;
      events.crm.push(event(t, { ...CHAT, micros: 20_000, latency: 500 }));
      events.crm.push(event(t - 30_000, { ...LOCAL, latency: 900 }));
    }
  }
  // Fifteen days of hourly calls on the self-hosted deployment (a forecast needs two
  // weeks), and four in the last minutes (its load now).
  const thisHour = now - (now % HOUR);
  for (let h = 15 * 24; h >= 1; h--) {
    const start = thisHour - h * HOUR;
    const n = llamaCalls(start);
    for (let i = 0; i < n; i++) events.ranker.push(event(start + i * (HOUR / n), { ...LLAMA, latency: 400 }));
  }
  for (let i = 0; i < 4; i++) events.ranker.push(event(now - 30_000 - i * 1000, { ...LLAMA, latency: 400 }));

  for (const [name, list] of Object.entries(events)) {
    for (let i = 0; i < list.length; i += 1000) {
      const r = await fetch(`${url}/sdk/v1/usage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apps[name].key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ dropped: 0, events: list.slice(i, i + 1000) }),
      });
      const ack = await r.json();
      if (!r.ok || ack.accepted !== list.slice(i, i + 1000).length) {
        throw new Error(`usage of ${name}: ${r.status} ${JSON.stringify(ack)}`);
      }
    }
  }

  // Budgets, and an SDK instance of search holding a lease on them.
  const monthly = await api('POST', '/budgets', {
    name: 'tenant-monthly',
    scope: 'tenant',
    period: 'month',
    amount_usd: 50,
    mode: 'hard',
  });
  const searchDaily = await api('POST', '/budgets', {
    name: 'search-daily',
    scope: 'app',
    scope_ref: apps.search.id,
    period: 'day',
    amount_usd: 2,
    mode: 'hard',
  });
  const lease = await fetch(`${url}/sdk/v1/leases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apps.search.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ instance: 'search-web-1' }),
  });
  if (!lease.ok) throw new Error(`lease: ${lease.status} ${await lease.text()}`);

  // The people: a resource manager and a model ops engineer, tenant-wide.
  const user = async (username, role) => {
    const u = await api('POST', '/users', { username, password: USER_PASSWORD });
    await api('PATCH', `/users/${u.id}`, { bindings: [{ role }] });
  };
  await user('money', 'resource_manager');
  await user('ops', 'model_ops');

  const all = Object.values(events).flat();
  const sum = (list, f) => list.reduce((a, e) => a + f(e), 0);
  return {
    now,
    departments: { root: root.id, engineering, ml, sales },
    apps,
    budgets: { monthly: monthly.id, searchDaily: searchDaily.id },
    calls: all.length,
    calls_of: Object.fromEntries(Object.entries(events).map(([k, v]) => [k, v.length])),
    micros_of: Object.fromEntries(Object.entries(events).map(([k, v]) => [k, sum(v, (e) => Math.round(e.cost_usd * 1e6))])),
  };
}

/** RFC 4180 records: quoted fields (doubled quotes inside), CRLF or LF line ends. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
