//! What crosses to the engine: JSON-shaped values. A value napi cannot represent or would
//! silently change (a BigInt, a Symbol, a function, NaN, a Map, a cycle, nesting too deep)
//! is a BadRequestError naming where it is, thrown before native code sees it (where a
//! cycle or deep nesting would overflow the native stack and kill the process).
'use strict';

const { BadRequestError } = require('./errors');

/** Deeper than any real request or config; the native conversion recurses per level. */
const MAX_DEPTH = 128;

function fail(field, what) {
  const where = field || 'the value';
  throw new BadRequestError(`bad request (${where}): ${what}`, { kind: 'bad_request', message: what, field: field || null });
}

function child(field, key) {
  return typeof key === 'number' ? `${field}[${key}]` : field ? `${field}.${key}` : key;
}

/** Kinds of object whose contents JSON would drop or garble. */
function unsendable(value) {
  return value instanceof Map || value instanceof Set || value instanceof Promise || value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function check(value, field, depth, ancestors) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(field, `${value} is not a JSON number`);
      return;
    case 'bigint':
      fail(field, 'a BigInt cannot be sent: pass a number or a string');
      break;
    case 'symbol':
      fail(field, 'a Symbol cannot be sent');
      break;
    case 'function':
      fail(field, 'a function cannot be sent');
      break;
    default:
  }
  if (value === null) return;
  if (depth >= MAX_DEPTH) fail(field, `nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.has(value)) fail(field, 'the value contains itself (a cycle)');
  if (unsendable(value)) fail(field, `a ${value.constructor.name} cannot be sent: pass an array or a plain object`);
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      if (value[i] === undefined) fail(child(field, i), 'undefined in an array (a hole, or a missing value)');
      check(value[i], child(field, i), depth + 1, ancestors);
    }
  } else {
    for (const key of Object.keys(value)) check(value[key], child(field, key), depth + 1, ancestors);
  }
  ancestors.delete(value);
}

/** `value` once checked (`undefined` becomes null); errors name fields under `field`. */
function wire(value, field = '') {
  check(value, field, 0, new Set());
  return value === undefined ? null : value;
}

/** The options argument (of the constructor or a call) as an object; `null` and
 * `undefined` are none. */
function optionsObject(options, field) {
  if (options == null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) fail(field, `expected an object of options, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  return options;
}

/** A count of milliseconds (`timeout`) or retries (`maxRetries`), or none. */
function amount(value, field, integer) {
  if (value == null) return;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= 0 && (!integer || Number.isInteger(value));
  if (!ok) fail(field, `expected ${integer ? 'a whole number' : 'a number of milliseconds'} >= 0, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
}

/** `error` with its field in the caller's spelling, where `names` (engine -> JavaScript)
 * renames it (`api_key` -> `apiKey`). */
function spelled(error, names) {
  const field = error?.field;
  if (field == null || !Object.hasOwn(names, field)) return error;
  error.field = names[field];
  error.param = error.field;
  error.error = { ...error.error, param: error.field };
  return error;
}

/** An AbortSignal, or none; anything else names `signal`. */
function signalOf(options) {
  const { signal } = options;
  if (signal == null) return undefined;
  if (typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean') fail('signal', 'expected an AbortSignal');
  return signal;
}

module.exports = { wire, fail, optionsObject, signalOf, amount, spelled, MAX_DEPTH };
