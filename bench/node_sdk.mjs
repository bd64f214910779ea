//! Node SDK benchmark against the mock provider (loopback only, bounded loops), every
//! baseline in the same process: per-call latency of switchyard vs raw `fetch` vs the
//! official `openai` package, interleaved in rounds so the machine's drift hits all alike;
//! cache-hit latency; streaming time to first content chunk vs `openai`; `require` and
//! `import` time; throughput with 64 calls in flight. Run it with bench/node_sdk.sh.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { Switchyard } = require(path.join(ROOT, 'bindings-node', 'lib'));
const OpenAI = createRequire(path.join(ROOT, 'tests', 'gateway', 'node', 'package.json'))('openai').default;

const N = Number(process.env.BENCH_CALLS || 4000);
const WARMUP = 300;
const STREAMS = Number(process.env.BENCH_STREAMS || 300);
const ROUNDS = 4;
const MESSAGES = [{ role: 'user', content: 'Say hello.' }];

const pct = (samples, p) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
};
const median = (xs) => pct(xs, 0.5);
const now = () => Number(process.hrtime.bigint()) / 1000; // microseconds

async function measure(fn, n) {
  for (let i = 0; i < WARMUP; i += 1) await fn();
  const samples = [];
  for (let i = 0; i < n; i += 1) {
    const t = now();
    await fn();
    samples.push(now() - t);
  }
  return { p50_us: pct(samples, 0.5), p99_us: pct(samples, 0.99) };
}

/** Calls per second with `inFlight` calls always outstanding, for `total` calls. */
async function throughput(fn, inFlight = 64, total = 8000) {
  let started = 0;
  const t = now();
  const worker = async () => {
    while (started < total) {
      started += 1;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return Math.round(total / ((now() - t) / 1e6));
}

function startMock() {
  const bin = process.env.SWITCHYARD_MOCK_BIN;
  const proc = spawn(bin, ['--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve) => {
    readline.createInterface({ input: proc.stdout }).once('line', (line) => resolve({ proc, url: line.slice('listening on '.length) }));
  });
}

/** Median wall time of loading the package in a fresh process, `require` or `import`. */
function loadTime(how) {
  const lib = path.join(ROOT, 'bindings-node', 'lib', how === 'require' ? 'index.js' : 'index.mjs');
  const code = how === 'require'
    ? `const t = process.hrtime.bigint(); require(${JSON.stringify(lib)}); console.log(Number(process.hrtime.bigint() - t) / 1e6)`
    : `const t = process.hrtime.bigint(); await import(${JSON.stringify(lib)}); console.log(Number(process.hrtime.bigint() - t) / 1e6)`;
  const runs = [];
  for (let i = 0; i < 7; i += 1) {
    runs.push(Number(execFileSync(process.execPath, [how === 'require' ? '-e' : '--input-type=module', ...(how === 'require' ? [code] : ['-e', code])], { encoding: 'utf8' })));
  }
  return median(runs);
}

const mock = await startMock();
try {
  const session = await (await fetch(`${mock.url}/_mock/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ models: { '*': [{ content: 'Hello there, this is a benchmark answer with a few words in it.' }] } }),
  })).json();
  const root = `${mock.url}/s/${session.id}/v1`;
  const config = {
    version: 1,
    providers: { oa: { kind: 'openai', base_url: root, api_key: 'sk-bench' } },
    models: { chat: { deployments: [{ provider: 'oa', model: 'gpt-4o-mini' }] } },
  };
  const client = new Switchyard({ config });
  const oa = new OpenAI({ baseURL: root, apiKey: 'sk-bench', maxRetries: 0 });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: MESSAGES });

  const rawFetch = async () => {
    const r = await fetch(`${root}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }, body });
    return (await r.json()).choices[0].message.content;
  };
  const official = async () => (await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })).choices[0].message.content;
  const ours = async () => (await client.chat.completions.create({ model: 'chat', messages: MESSAGES }, { cache: 'bypass' })).choices[0].message.content;
  const oursHit = async () => (await client.chat.completions.create({ model: 'chat', messages: MESSAGES, temperature: 0 })).choices[0].message.content;

  const per = { fetch: [], openai: [], switchyard: [] };
  for (let r = 0; r < ROUNDS; r += 1) {
    per.fetch.push(await measure(rawFetch, N / ROUNDS));
    per.openai.push(await measure(official, N / ROUNDS));
    per.switchyard.push(await measure(ours, N / ROUNDS));
  }
  const results = { calls: N };
  for (const [name, runs] of Object.entries(per)) {
    results[name] = { p50_us: median(runs.map((r) => r.p50_us)), p99_us: median(runs.map((r) => r.p99_us)) };
  }
  results.switchyard_over_fetch_p50 = results.switchyard.p50_us / results.fetch.p50_us;
  results.switchyard_over_openai_p50 = results.switchyard.p50_us / results.openai.p50_us;
  results.cache_hit = await measure(oursHit, N);

  const firstContent = async (stream) => {
    const t = now();
    let first = 0;
    for await (const chunk of await stream()) {
      if (!first && chunk.choices?.[0]?.delta?.content) first = now() - t;
    }
    return first;
  };
  for (const [name, open] of [
    ['stream_ttfc_switchyard', () => client.chat.completions.create({ model: 'chat', messages: MESSAGES, stream: true })],
    ['stream_ttfc_openai', () => oa.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES, stream: true })],
  ]) {
    for (let i = 0; i < 30; i += 1) await firstContent(open);
    const samples = [];
    for (let i = 0; i < STREAMS; i += 1) samples.push(await firstContent(open));
    results[name] = { p50_us: pct(samples, 0.5), p99_us: pct(samples, 0.99) };
  }

  results.throughput_64_in_flight = { fetch: await throughput(rawFetch), openai: await throughput(official), switchyard: await throughput(ours) };
  results.require_ms = loadTime('require');
  results.import_ms = loadTime('import');
  await client.close();

  console.log(JSON.stringify(results, null, 2));
  const ok = results.switchyard_over_fetch_p50 <= 1.0;
  console.log(
    `targets: p50 vs fetch ${results.switchyard_over_fetch_p50.toFixed(2)}x (<= 1.0), vs openai ${results.switchyard_over_openai_p50.toFixed(2)}x; ` +
      `cache hit p50 ${results.cache_hit.p50_us.toFixed(1)} us; first chunk p50 ${(results.stream_ttfc_switchyard.p50_us / 1000).toFixed(2)} ms ` +
      `(openai ${(results.stream_ttfc_openai.p50_us / 1000).toFixed(2)} ms); require ${results.require_ms.toFixed(1)} ms: ${ok ? 'met' : 'NOT met'}`,
  );
} finally {
  mock.proc.kill();
}
