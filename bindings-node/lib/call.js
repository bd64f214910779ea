//! How every call crosses to the engine: a native call started with a cancel switch
//! (`NativeTask`), its Promise settled with the answer or error data, an AbortSignal
//! flipping the switch, and the per-call options in the engine's names.
'use strict';

const native = require('./native');
const { fromNative, rethrown } = require('./errors');
const { wire, amount } = require('./wire');

/** The answer of `start(task)` (a native Promise), or its error as a class. */
function call(start, signal) {
  const task = new native.NativeTask();
  const abort = () => task.cancel();
  if (signal?.aborted) abort();
  signal?.addEventListener('abort', abort, { once: true });
  let pending;
  try {
    pending = start(task);
  } catch (error) {
    signal?.removeEventListener('abort', abort);
    return Promise.reject(rethrown(error));
  }
  return pending.then(
    (out) => {
      signal?.removeEventListener('abort', abort);
      if (out instanceof native.NativeFailure) throw fromNative(out.data);
      return out;
    },
    (error) => {
      signal?.removeEventListener('abort', abort);
      throw rethrown(error);
    },
  );
}

// Per-call options: the JavaScript name -> the engine's name.
const OPTION_NAMES = {
  user: 'user', endUser: 'user', tags: 'tags', metadata: 'metadata', tenant: 'tenant', app: 'app',
  session: 'session', cache: 'cache', deployment: 'deployment', maxRetries: 'max_retries',
};

/** The per-call options as the engine reads them, over the client's defaults; `timeout`
 * is in milliseconds, as in the `openai` package. */
function engineOptions(defaults, options = {}) {
  const merged = { ...defaults, ...options };
  const out = {};
  amount(merged.timeout, 'timeout', false);
  amount(merged.maxRetries, 'maxRetries', true);
  if (merged.timeout != null) out.timeout = merged.timeout / 1000;
  for (const [name, engine] of Object.entries(OPTION_NAMES)) {
    if (merged[name] !== undefined) out[engine] = wire(merged[name], name);
  }
  return Object.keys(out).length ? out : null;
}

module.exports = { call, engineOptions };
