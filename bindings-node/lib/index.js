//! The `switchyard` npm package: the engine in-process, shaped like the official `openai`
//! package (`client.chat.completions.create`, `client.embeddings.create`,
//! `client.models.list`). Everything is decided by the engine; this file translates.
'use strict';

const { isMainThread } = require('node:worker_threads');

const native = require('./native');
const errors = require('./errors');
const { call, engineOptions } = require('./call');
const { Stream } = require('./stream');
const { wire, fail, optionsObject, signalOf, amount, spelled } = require('./wire');

// The engine stops with the process: usage is flushed, callbacks stop.
if (isMainThread) process.once('exit', () => native.atExit());

// The constructor's options: the JavaScript name -> the engine's (docs/bindings.md, ClientSpec).
const SPEC_NAMES = {
  configFile: 'config', config: 'config', server: 'server', apiKey: 'api_key', configCache: 'config_cache',
  watch: 'watch', otlpEndpoint: 'otlp_endpoint', serviceName: 'service_name',
};

// An engine error about an option names it as the caller spelled it.
const SPEC_FIELDS = Object.fromEntries(Object.entries(SPEC_NAMES).filter(([js, engine]) => js !== engine).map(([js, engine]) => [engine, js]));
delete SPEC_FIELDS.config;

/** The constructor's options in the engine's names, each checked under its own name. */
function clientSpec(opts) {
  const spec = {};
  for (const [name, engine] of Object.entries(SPEC_NAMES)) {
    if (opts[name] !== undefined) spec[engine] = wire(opts[name], name);
  }
  return Object.keys(spec).length ? spec : null;
}

const DEFAULT_NAMES = ['timeout', 'maxRetries'];

/** Throws what the constructor rejects before reaching the engine. */
function checked(opts) {
  amount(opts.timeout, 'timeout', false);
  amount(opts.maxRetries, 'maxRetries', true);
  if (opts.config !== undefined && opts.configFile !== undefined) {
    throw new errors.BadRequestError('pass config or configFile, not both', { kind: 'bad_request', field: 'configFile' });
  }
  return clientSpec(opts);
}

class Switchyard {
  /** `{ config }` (an object or a file path), `{ configFile }`, `{ server, apiKey }`, or
   * nothing: `SWITCHYARD_CONFIG`, else `SWITCHYARD_SERVER` and `SWITCHYARD_API_KEY`.
   * `timeout` (ms) and `maxRetries` are every call's defaults. With a server, this waits
   * for the first config, blocking the event loop: `Switchyard.create` does not. */
  constructor(options) {
    const opts = optionsObject(options, null);
    const spec = checked(opts);
    let client;
    try {
      client = new native.NativeClient(spec);
    } catch (error) {
      throw spelled(errors.rethrown(error), SPEC_FIELDS);
    }
    this._init(opts, client);
  }

  /** The client, built off the event loop (a server's first config, a config file read):
   * the same options as the constructor, and `signal` to give up waiting. */
  static async create(options) {
    const opts = optionsObject(options, null);
    const spec = checked(opts);
    const client = await call((task) => native.NativeClient.open(spec, task), signalOf(opts)).catch((error) => {
      throw spelled(error, SPEC_FIELDS);
    });
    const created = Object.create(Switchyard.prototype);
    created._init(opts, client);
    return created;
  }

  _init(opts, nativeClient) {
    this._native = nativeClient;
    this._defaults = Object.fromEntries(DEFAULT_NAMES.filter((n) => opts[n] !== undefined).map((n) => [n, opts[n]]));
    const client = this;
    this.chat = { completions: { create: (params, options) => client._chat(params, options) } };
    this.embeddings = { create: (params, options) => client._call('embed', params, options) };
    this.models = { list: () => client._models() };
  }

  /** Bad arguments reject (as the `openai` package's calls do), never throw. */
  _call(method, params, options) {
    let request;
    let opts;
    let signal;
    try {
      const given = optionsObject(options, null);
      signal = signalOf(given);
      opts = engineOptions(this._defaults, given);
      request = wire(params);
    } catch (error) {
      return Promise.reject(error);
    }
    return call((task) => this._native[method](request, opts, task), signal);
  }

  async _chat(params, options) {
    if (!params?.stream) return this._call('chat', params, options);
    const handle = await this._call('chatStream', params, options);
    return new Stream(handle, options?.signal ?? undefined);
  }

  async _models() {
    const listed = this._sync(() => this._native.models());
    const page = { ...listed, data: listed.data ?? [] };
    page[Symbol.asyncIterator] = async function* iterate() {
      yield* page.data;
    };
    return page;
  }

  /** A copy whose calls default to these options, as the `openai` package's
   * `withOptions`: `timeout` (ms) for each whole call, `maxRetries` a cap on the retries of
   * each model the call reaches. The copy shares the engine: closing either closes both. */
  withOptions(options) {
    const opts = optionsObject(options, 'options');
    amount(opts.timeout, 'timeout', false);
    amount(opts.maxRetries, 'maxRetries', true);
    for (const name of Object.keys(opts)) {
      if (!DEFAULT_NAMES.includes(name) && opts[name] !== undefined) fail(name, 'withOptions takes timeout and maxRetries');
    }
    const copy = Object.create(Switchyard.prototype);
    copy._init({ ...this._defaults, ...opts }, this._native);
    return copy;
  }

  /** Calls, latencies, tokens, cost and errors so far, per model and deployment. */
  metrics() {
    return this._sync(() => this._native.metrics());
  }

  /** The config in force, secrets redacted. */
  config() {
    return this._sync(() => this._native.config());
  }

  /** Resolves once the usage recorded so far reached the server (or its spool on disk). */
  flush() {
    return call((task) => this._native.flush(task)).then(() => undefined);
  }

  _sync(read) {
    try {
      return read();
    } catch (error) {
      throw errors.rethrown(error);
    }
  }

  /** Swaps in a new config (an object or a file path); an invalid one throws a
   * ConfigError and the old one stays. */
  reload(config) {
    if (config == null) throw new errors.BadRequestError('bad request (config): a config (an object or a file path) is required', { kind: 'bad_request', message: 'a config (an object or a file path) is required', field: 'config' });
    const checked = wire(config, 'config');
    this._sync(() => this._native.reload(checked));
  }

  /** Lets the calls in flight finish, stops the config watcher, flushes usage. */
  close() {
    return call((task) => this._native.close(task)).then(() => undefined);
  }

  get closed() {
    return this._native.closed;
  }
}

module.exports = { Switchyard, default: Switchyard, Stream, version: native.version(), ...errors };
delete module.exports.fromNative;
delete module.exports.rethrown;
