//! The `switchyard` npm package: the engine in-process, shaped like the official `openai`
//! package (`client.chat.completions.create`, `client.embeddings.create`,
//! `client.models.list`). Everything is decided by the engine; this file translates.
'use strict';

const { isMainThread } = require('node:worker_threads');

const native = require('./native');
const errors = require('./errors');
const { call, engineOptions } = require('./call');
const { Stream } = require('./stream');

// The engine stops with the process: usage is flushed, callbacks stop.
if (isMainThread) process.once('exit', () => native.atExit());

/** The constructor's options in the engine's names (docs/bindings.md, ClientSpec). */
function clientSpec(opts) {
  const spec = {};
  const source = opts.configFile ?? opts.config;
  if (source !== undefined) spec.config = source;
  if (opts.server !== undefined) spec.server = opts.server;
  if (opts.apiKey !== undefined) spec.api_key = opts.apiKey;
  if (opts.configCache !== undefined) spec.config_cache = opts.configCache;
  if (opts.watch !== undefined) spec.watch = opts.watch;
  if (opts.otlpEndpoint !== undefined) spec.otlp_endpoint = opts.otlpEndpoint;
  if (opts.serviceName !== undefined) spec.service_name = opts.serviceName;
  return Object.keys(spec).length ? spec : null;
}

const DEFAULT_NAMES = ['timeout', 'maxRetries'];

/** Throws what the constructor rejects before reaching the engine. */
function checked(opts) {
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
  constructor(opts = {}) {
    const spec = checked(opts);
    let client;
    try {
      client = new native.NativeClient(spec);
    } catch (error) {
      throw errors.rethrown(error);
    }
    this._init(opts, client);
  }

  /** The client, built off the event loop (a server's first config, a config file read):
   * the same options as the constructor, and `signal` to give up waiting. */
  static async create(opts = {}) {
    const spec = checked(opts);
    const client = await call((task) => native.NativeClient.open(spec, task), opts.signal);
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

  _call(method, params, options = {}) {
    const opts = engineOptions(this._defaults, options);
    return call((task) => this._native[method](params, opts, task), options.signal);
  }

  async _chat(params, options = {}) {
    if (!params?.stream) return this._call('chat', params, options);
    const handle = await this._call('chatStream', params, options);
    return new Stream(handle, options.signal);
  }

  async _models() {
    let listed;
    try {
      listed = this._native.models();
    } catch (error) {
      throw errors.rethrown(error);
    }
    const page = { ...listed, data: listed.data ?? [] };
    page[Symbol.asyncIterator] = async function* iterate() {
      yield* page.data;
    };
    return page;
  }

  /** Swaps in a new config (an object or a file path); an invalid one throws a
   * ConfigError and the old one stays. */
  reload(config) {
    try {
      this._native.reload(config);
    } catch (error) {
      throw errors.rethrown(error);
    }
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
