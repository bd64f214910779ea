//! Runs the shared conformance scenarios (tests/conformance/) through the Node client,
//! implementing every field of tests/conformance/README.md as the Python runner
//! (bindings-python/tests/scenario_runner.py) does.
'use strict';

const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');

const switchyard = require('../../lib');
const native = require('../../lib/native');
const { ROOT } = require('./mock');

class Mismatch extends Error {}

function localModelPath() {
  return process.env.SWITCHYARD_LOCAL_MODEL || path.join(ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
}

function substitute(value, base) {
  if (typeof value === 'string') return value.replaceAll('{{mock}}', base).replaceAll('{{local_model}}', localModelPath());
  if (Array.isArray(value)) return value.map((v) => substitute(v, base));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, base)]));
  return value;
}

/** The step's request as params, its options as the call options. */
function callArgs(step, i = 0, c = 0) {
  const params = { ...(step.request || {}) };
  delete params.stream;
  const options = {};
  for (const [name, value] of Object.entries(step.options || {})) {
    if (name === 'timeout_ms') options.timeout = value;
    else if (name === 'user') options.user = value;
    else if (['session', 'tenant', 'app', 'tags', 'metadata', 'cache', 'deployment'].includes(name)) options[name] = value;
    else if (name === 'user_template') options.user = value.replaceAll('{i}', String(i)).replaceAll('{c}', String(c));
    else if (name !== 'abandon_after_chunks') throw new Mismatch(`unknown call option ${name} in the scenario`);
  }
  return { params, options };
}

function result(fields = {}) {
  return { error: null, text: '', finishReason: null, toolCalls: [], usage: null, meta: null, chunks: 0, restarted: false, embeddings: null, models: null, elapsedMs: 0, user: null, ...fields };
}

function chatResult(response) {
  const choice = response.choices?.[0];
  return result({
    text: choice?.message?.content ?? '',
    finishReason: choice?.finish_reason ?? null,
    toolCalls: (choice?.message?.tool_calls || []).map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments })),
    usage: response.usage ?? null,
    meta: response.switchyard,
  });
}

function embedResult(response) {
  return result({
    embeddings: [response.data.length, response.data.length ? response.data[0].embedding.length : 0],
    usage: { prompt_tokens: response.usage.prompt_tokens, completion_tokens: 0 },
    meta: response.switchyard,
  });
}

/** Concatenates streamed chunks into the answer of choice 0. */
class Assembler {
  constructor() {
    this.text = [];
    this.finishReason = null;
    this.tools = new Map();
    this.usage = null;
  }

  push(chunk) {
    if (chunk.usage != null) this.usage = chunk.usage;
    for (const choice of chunk.choices || []) {
      if (choice.index !== 0) continue;
      const delta = choice.delta || {};
      if (delta.content) this.text.push(delta.content);
      for (const call of delta.tool_calls || []) {
        if (!this.tools.has(call.index)) this.tools.set(call.index, { id: '', name: '', arguments: '' });
        const slot = this.tools.get(call.index);
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name += call.function.name;
        if (call.function?.arguments) slot.arguments += call.function.arguments;
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
  }

  into(r) {
    r.text = this.text.join('');
    r.finishReason = this.finishReason;
    r.toolCalls = [...this.tools.keys()].sort((a, b) => a - b).map((k) => this.tools.get(k));
    r.usage = this.usage;
  }
}

function same(what, expected, actual) {
  if (!isDeepStrictEqual(expected, actual)) throw new Mismatch(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// The class an error of a kind must be, refined by the provider's status (as lib/errors.js).
const CLASS_BY_STATUS = {
  'auth/403': switchyard.PermissionDeniedError,
  'bad_request/422': switchyard.UnprocessableEntityError,
  'upstream/404': switchyard.NotFoundError,
  'upstream/409': switchyard.ConflictError,
  'upstream/422': switchyard.UnprocessableEntityError,
};
const CLASS_BY_KIND = {
  rate_limited: switchyard.RateLimitError, context_window_exceeded: switchyard.ContextWindowExceededError,
  content_policy: switchyard.ContentPolicyError, timeout: switchyard.TimeoutError, upstream: switchyard.UpstreamError,
  auth: switchyard.AuthenticationError, bad_request: switchyard.BadRequestError, network: switchyard.NetworkError,
  canceled: switchyard.CanceledError, budget_exceeded: switchyard.BudgetExceededError, unavailable: switchyard.UnavailableError,
  budget_unavailable: switchyard.BudgetUnavailableError, overloaded: switchyard.OverloadedError, config: switchyard.ConfigError,
  internal: switchyard.InternalError, policy_violation: switchyard.PolicyViolationError,
};

function checkCall(expect = {}, r) {
  expect = expect || {};
  const e = expect.error;
  if (e == null && r.error) throw new Mismatch(`unexpected error: ${r.error.message} (${r.error.constructor.name})`);
  if (e != null && !r.error) throw new Mismatch(`expected a ${e.kind} error, the call succeeded`);
  if (e != null) {
    const err = r.error;
    same(`error kind (${err.message})`, e.kind, err.code);
    const cls = CLASS_BY_STATUS[`${err.code}/${err.httpStatus}`] || CLASS_BY_KIND[err.code];
    if (cls && !(err instanceof cls)) throw new Mismatch(`error ${err.constructor.name} is not a ${cls.name}`);
    if ('field' in e) same('error field', e.field, err.field);
    if ('rule' in e) same('error rule', e.rule, err.rule);
    if ('status' in e) same('error status', e.status, err.status);
    if ('retryable' in e) same('error retryable', e.retryable, err.retryable);
    if ('deployment' in e) same('error deployment', e.deployment, err.deployment);
    if ('message_contains' in e && !err.detail.includes(e.message_contains)) throw new Mismatch(`error message ${err.detail} lacks ${e.message_contains}`);
    if ('after_chunks_min' in e && r.chunks < e.after_chunks_min) throw new Mismatch(`error came after ${r.chunks} chunks, expected at least ${e.after_chunks_min}`);
  }
  if ('content' in expect) same('content', expect.content, r.text);
  if ('content_contains' in expect && !r.text.includes(expect.content_contains)) throw new Mismatch(`content ${r.text} lacks ${expect.content_contains}`);
  if ('finish_reason' in expect) same('finish_reason', expect.finish_reason, r.finishReason);
  if ('tool_calls' in expect) {
    same('tool call count', expect.tool_calls.length, r.toolCalls.length);
    expect.tool_calls.forEach((want, i) => {
      const got = r.toolCalls[i];
      same('tool name', want.name, got.name);
      if (!got.id) throw new Mismatch('a tool call has no id');
      if ('arguments' in want) {
        let parsed;
        try {
          parsed = JSON.parse(got.arguments);
        } catch (error) {
          throw new Mismatch(`tool arguments are not JSON (${error.message}): ${got.arguments}`);
        }
        same('tool arguments', want.arguments, parsed);
      }
    });
  }
  if ('usage' in expect) {
    const usage = r.usage || {};
    const actual = {
      prompt_tokens: usage.prompt_tokens ?? 0,
      completion_tokens: usage.completion_tokens ?? 0,
      total_tokens: usage.total_tokens ?? 0,
      cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    };
    for (const [name, value] of Object.entries(expect.usage)) same(name, value, actual[name]);
  }
  if (r.embeddings) {
    if (expect.embeddings) {
      same('embedding count', expect.embeddings.count, r.embeddings[0]);
      if ('dimensions' in expect.embeddings) same('embedding dimensions', expect.embeddings.dimensions, r.embeddings[1]);
    }
  } else if ('embeddings' in expect) {
    throw new Mismatch('expected embeddings, got none');
  }
  if ('models' in expect) same('models', expect.models, r.models);
  if ('chunks_min' in expect && r.chunks < expect.chunks_min) throw new Mismatch(`${r.chunks} chunks, expected at least ${expect.chunks_min}`);
  if ('restarted' in expect) same('restarted', expect.restarted, r.restarted);
  const elapsed = Math.trunc(r.elapsedMs);
  if ('elapsed_ms_min' in expect && elapsed < expect.elapsed_ms_min) throw new Mismatch(`took ${elapsed} ms, expected at least ${expect.elapsed_ms_min}`);
  if ('elapsed_ms_max' in expect && elapsed > expect.elapsed_ms_max) throw new Mismatch(`took ${elapsed} ms, expected at most ${expect.elapsed_ms_max}`);
  const metaKeys = ['deployment', 'model', 'attempts', 'cache_hit', 'fallback', 'fallback_taken', 'cost_usd'];
  if (!metaKeys.some((k) => k in expect)) return;
  const meta = r.meta;
  if (!meta) throw new Mismatch('no call metadata');
  for (const key of ['deployment', 'model', 'attempts', 'cache_hit', 'fallback']) {
    if (key in expect) same(key, expect[key], meta[key]);
  }
  if ('fallback_taken' in expect) same('fallback taken', expect.fallback_taken, meta.fallback != null);
  if ('cost_usd' in expect) {
    const cost = expect.cost_usd;
    if (Math.abs(cost - meta.cost_usd) > 1e-9 + Math.abs(cost) * 1e-6) throw new Mismatch(`cost_usd: expected ${cost}, got ${meta.cost_usd}`);
  }
}

function sorted(object) {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function checkBatch(step, results) {
  if (step.outcomes == null) {
    results.forEach((r, i) => {
      try {
        checkCall(step.expect, r);
      } catch (error) {
        if (error instanceof Mismatch) throw new Mismatch(`call ${i}: ${error.message}`);
        throw error;
      }
    });
  } else {
    const actual = {};
    for (const r of results) {
      const key = r.error ? r.error.code : 'ok';
      actual[key] = (actual[key] || 0) + 1;
    }
    same('outcomes', sorted(step.outcomes), sorted(actual));
    for (const r of results) if (!r.error) checkCall(step.expect, r);
  }
  if (step.deployment_counts) {
    const counts = {};
    for (const r of results) if (!r.error && r.meta) counts[r.meta.deployment] = (counts[r.meta.deployment] || 0) + 1;
    for (const [deployment, [low, high]] of Object.entries(step.deployment_counts)) {
      const got = counts[deployment] || 0;
      if (got < low || got > high) throw new Mismatch(`deployment ${deployment} answered ${got} calls, expected ${low}..=${high} (${JSON.stringify(counts)})`);
    }
  }
  if (step.sticky_by_user) {
    const seen = new Map();
    for (const r of results) {
      if (r.error || !r.meta) continue;
      if (!seen.has(r.user)) seen.set(r.user, r.meta.deployment);
      if (seen.get(r.user) !== r.meta.deployment) throw new Mismatch(`user ${r.user} was answered by ${seen.get(r.user)} and ${r.meta.deployment}`);
    }
  }
  if ('total_cost_max_usd' in step) {
    const total = results.filter((r) => r.meta && !r.error).reduce((sum, r) => sum + r.meta.cost_usd, 0);
    if (total > step.total_cost_max_usd + 1e-12) throw new Mismatch(`successful calls cost ${total} USD in all, more than ${step.total_cost_max_usd}`);
  }
}

function contains(expected, actual, at) {
  if (expected && actual && typeof expected === 'object' && typeof actual === 'object' && !Array.isArray(expected) && !Array.isArray(actual)) {
    for (const [key, value] of Object.entries(expected)) {
      if (!(key in actual)) throw new Mismatch(`${at}.${key} is missing in ${JSON.stringify(actual)}`);
      contains(value, actual[key], `${at}.${key}`);
    }
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length) {
    expected.forEach((e, i) => contains(e, actual[i], `${at}[${i}]`));
    return;
  }
  if (!isDeepStrictEqual(expected, actual)) throw new Mismatch(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

function pick(items, index, what) {
  const position = index < 0 ? items.length + index : index;
  if (position < 0 || position >= items.length) throw new Mismatch(`no ${what} ${index} (of ${items.length})`);
  return items[position];
}

function checkUsageEvent(check, events) {
  const index = check.index ?? 0;
  const event = pick(events, index, 'usage event');
  const at = `usage event ${index}`;
  if ('model' in check) same(`${at} model`, check.model, event.model);
  if ('status' in check) {
    const actual = typeof event.status === 'string' ? event.status : event.status?.error?.code;
    same(`${at} status`, check.status, actual);
  }
  for (const flag of ['cache_hit', 'local']) {
    if (flag in check) same(`${at} ${flag}`, check[flag], event[flag]);
  }
  const content = event.content ?? null;
  if (check.content_absent && content !== null) throw new Mismatch(`${at} should carry no content: ${JSON.stringify(event)}`);
  if ('content' in check || 'content_max_bytes' in check) {
    if (content === null) throw new Mismatch(`${at} carries no content: ${JSON.stringify(event)}`);
  }
  if ('content' in check) contains(check.content, content, `${at} content`);
  if ('content_max_bytes' in check) {
    const size = Buffer.byteLength(JSON.stringify(content));
    if (size > check.content_max_bytes) throw new Mismatch(`${at} content is ${size} bytes, above ${check.content_max_bytes}`);
  }
}

function checkFinal(expect, counters, requests, usage) {
  if ('upstream_calls' in expect) same('upstream calls', expect.upstream_calls, counters.total ?? 0);
  for (const [model, calls] of Object.entries(expect.upstream_calls_by_model || {})) {
    same(`upstream calls to ${model}`, calls, (counters.models || {})[model] ?? 0);
  }
  const events = usage.flatMap((batch) => batch.events);
  for (const check of expect.usage_events || []) checkUsageEvent(check, events);
  for (const text of expect.usage_text_absent || []) {
    const batch = usage.find((b) => b.raw.includes(text));
    if (batch) throw new Mismatch(`${JSON.stringify(text)} was shipped: ${batch.raw}`);
  }
  for (const check of expect.requests || []) {
    const recorded = pick(requests, check.index ?? 0, 'recorded request');
    if ('path' in check) same('request path', check.path, recorded.path);
    for (const [name, value] of Object.entries(check.headers || {})) same(`request header ${name}`, value, recorded.headers[name] ?? null);
    for (const name of check.headers_absent || []) {
      if (name in recorded.headers) throw new Mismatch(`request header ${name} should be absent`);
    }
    if ('body' in check) contains(check.body, recorded.body, 'body');
    for (const name of check.body_absent || []) {
      if (recorded.body && typeof recorded.body === 'object' && name in recorded.body) throw new Mismatch(`request body field ${name} should be absent`);
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Runner {
  constructor(client, base) {
    this.client = client;
    this.base = base;
  }

  async step(step) {
    if (step.delay_ms) await sleep(step.delay_ms);
    const { op } = step;
    if (op === 'sleep') {
      await sleep(step.ms || 0);
    } else if (op === 'parallel') {
      await Promise.all((step.steps || []).map((s) => this.step(s)));
    } else if (op === 'flush') {
      await this.client.flush();
    } else if (op === 'reload') {
      const r = result();
      try {
        this.client.reload(substitute(step.config, this.base));
      } catch (error) {
        if (!(error instanceof switchyard.SwitchyardError)) throw error;
        r.error = error;
      }
      checkCall(step.expect, r);
    } else if (['chat', 'stream', 'embed', 'models'].includes(op)) {
      const results = [];
      const n = step.concurrent ?? 1;
      for (let round = 0; round < (step.repeat ?? 1); round += 1) {
        results.push(...(await Promise.all(Array.from({ length: n }, (_, c) => this.call(step, round * n + c, c)))));
      }
      checkBatch(step, results);
    } else {
      throw new Mismatch(`unknown op ${op}`);
    }
  }

  async call(step, i, c) {
    const started = performance.now();
    const args = step.op === 'models' ? { params: {}, options: {} } : callArgs(step, i, c);
    let r;
    try {
      r = await this.callOnce(step, args);
    } catch (error) {
      if (!(error instanceof switchyard.SwitchyardError)) throw error;
      r = result({ error });
    }
    r.elapsedMs = performance.now() - started;
    r.user = args.options.user ?? null;
    return r;
  }

  async callOnce(step, { params, options }) {
    const { op } = step;
    if (op === 'models') return result({ models: (await this.client.models.list()).data.map((m) => m.id) });
    if (op === 'chat') return chatResult(await this.client.chat.completions.create(params, options));
    if (op === 'embed') return embedResult(await this.client.embeddings.create(params, options));
    const abandon = step.options?.abandon_after_chunks;
    const r = result();
    const stream = await this.client.chat.completions.create({ ...params, stream: true }, options);
    let assembler = new Assembler();
    try {
      for await (const chunk of stream) {
        if (chunk.switchyard?.restart === true) {
          r.restarted = true;
          assembler = new Assembler();
          continue;
        }
        r.chunks += 1;
        assembler.push(chunk);
        if (abandon != null && r.chunks === abandon) break;
      }
    } catch (error) {
      if (!(error instanceof switchyard.SwitchyardError)) throw error;
      r.error = error;
    }
    stream.close();
    r.meta = stream.switchyard;
    assembler.into(r);
    return r;
  }
}

/** Runs one scenario file's text against a fresh mock session. */
async function runScenario(mock, text) {
  const scenario = native.parseYaml(text);
  try {
    const session = await mock.session(scenario.mock || {});
    const client = new switchyard.Switchyard({ config: substitute(scenario.config, session.url) });
    try {
      const runner = new Runner(client, session.url);
      for (const [i, step] of (scenario.steps || []).entries()) {
        try {
          await runner.step(step);
        } catch (error) {
          if (error instanceof Mismatch) throw new Mismatch(`step ${i} (${step.op}): ${error.message}`);
          throw error;
        }
      }
    } finally {
      await client.close();
    }
    if (scenario.expect) checkFinal(scenario.expect, await session.counters(), await session.requests(), await session.usage());
  } catch (error) {
    if (error instanceof Mismatch) throw new Mismatch(`${error.message}\n  scenario: ${scenario.description}`);
    throw error;
  }
}

module.exports = { runScenario, Mismatch };
