//! Every scenario file in tests/conformance/scenarios/ and scenarios-next/ (SWITCHYARD_SCENARIO_DIRS, separated
//! by the path delimiter, runs other folders instead), through the Node client.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');

const { Mock, ROOT } = require('./support/mock');
const { runScenario } = require('./support/scenario');

const DIRS = (process.env.SWITCHYARD_SCENARIO_DIRS || '').split(path.delimiter).filter(Boolean);
if (!DIRS.length) {
  DIRS.push(path.join(ROOT, 'tests', 'conformance', 'scenarios'), path.join(ROOT, 'tests', 'conformance', 'scenarios-next'));
}
const FILES = DIRS.flatMap((dir) => fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f)));

let mock;
before(async () => {
  mock = await Mock.start();
});
after(() => mock.stop());

test('scenario files are found', () => {
  assert.ok(FILES.length > 0, `no scenario files in ${DIRS}`);
});

for (const file of FILES) {
  test(path.basename(file, path.extname(file)), () => runScenario(mock, fs.readFileSync(file, 'utf8')));
}
