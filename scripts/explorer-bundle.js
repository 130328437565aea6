'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, so that build.mjs runs it without a TypeScript loader */
// The explorer's bundle (dist/explorer), which every app outside production serves on GET /graphql:
// built with the root's Vite, as `npm run build:explorer` builds it, when it is missing or older than
// its sources. `npm run build` (scripts/build.mjs) and the tests' global setup call
// ensureExplorerBundle; `npm run dev` runs this file first. Plain CommonJS, so that build.mjs runs it
// without a TypeScript loader.
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const path = require('node:path');

/** A build takes some ten seconds; past this something is wrong. */
const BUILD_TIMEOUT_MS = 5 * 60_000;

/**
 * The newest modification time of `file` and, for a directory, of everything under it.
 * @param {string} file
 * @returns {number}
 */
function newestMtime(file) {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(file).map((name) => newestMtime(path.join(file, name))));
}

/**
 * Builds the bundle of the project at `root` unless it is current (or there is no explorer/ to build,
 * as in a scratch project); throws when Vite fails.
 * @param {string} root
 * @returns {void}
 */
function ensureExplorerBundle(root = path.resolve(__dirname, '..')) {
  const source = path.join(root, 'explorer');
  if (!existsSync(source)) return;
  // Where explorer/vite.config.mjs writes the bundle and src/http/explorer.ts (EXPLORER_BUNDLE) reads it.
  const index = path.join(root, 'dist', 'explorer', 'index.html');
  const sources = [source, path.join(root, 'package-lock.json')].filter((file) => existsSync(file));
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', 'explorer', '--logLevel', 'warn'],
    {
      cwd: root,
      stdio: 'inherit',
      timeout: BUILD_TIMEOUT_MS,
    },
  );
  if (result.error) throw new Error(`vite build failed to run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`vite build of the explorer exited with ${String(result.status ?? result.signal)}`);
}

module.exports = { ensureExplorerBundle };

if (require.main === module) ensureExplorerBundle();
