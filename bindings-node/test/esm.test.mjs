//! The ESM entry point exports what the CommonJS one does, the same objects.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import Switchyard, * as esm from '../lib/index.mjs';

const cjs = createRequire(import.meta.url)('../lib/index.js');

test('the ESM entry point names every CommonJS export', () => {
  assert.equal(Switchyard, cjs.Switchyard);
  for (const name of Object.keys(cjs).filter((n) => n !== 'default')) {
    assert.equal(esm[name], cjs[name], name);
  }
  assert.ok(new esm.RateLimitError('x', { kind: 'rate_limited' }) instanceof cjs.SwitchyardError);
});
