'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS worker file loaded by piscina */
// Runs in a worker thread (piscina): bcrypt is CPU-bound and would stall the event loop.
const bcrypt = require('bcryptjs');

/** @param {{ secret: string, cost: number }} input */
function hash(input) {
  return bcrypt.hashSync(input.secret, input.cost);
}

/** @param {{ secret: string, hash: string }} input */
function verify(input) {
  return bcrypt.compareSync(input.secret, input.hash);
}

module.exports = { hash, verify };
