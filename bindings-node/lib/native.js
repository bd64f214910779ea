//! The native addon (`switchyard.node`, built by scripts/build.sh), loaded once.
'use strict';

const path = require('node:path');

const file = process.env.SWITCHYARD_NODE_ADDON || path.join(__dirname, 'switchyard.node');

module.exports = require(file);
