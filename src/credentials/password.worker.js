'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS worker file loaded by piscina */
// Runs in a worker thread (piscina): bcrypt is CPU-bound and would stall the event loop.
const bcrypt = require('bcryptjs');
const os = require('node:os');

// The lowest CPU priority, for this thread only (on Linux a nice value is per thread): when logins
// saturate the cores, the event loop, which answers every other request, still gets them first.
// Raising one's own nice value needs no privilege; where the platform refuses, hashing goes on at
// the normal priority.
try {
  os.setPriority(19);
} catch {
  // nothing to do: the priority is an optimisation, not a guarantee
}

/** @param {{ secret: string, cost: number }} input */
function hash(input) {
  return bcrypt.hashSync(input.secret, input.cost);
}

/** @param {{ secret: string, hash: string }} input */
function verify(input) {
  return bcrypt.compareSync(input.secret, input.hash);
}

module.exports = { hash, verify };
