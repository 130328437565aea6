// `npm run build` (and `npm start` before it runs dist/main.js): compiles src/ to dist/ incrementally,
// and bundles the explorer page (explorer/, Vite) into dist/explorer when it is missing or older than
// its sources.
// `tsc -b` skips the compiler when no input changed since dist/.tsbuildinfo (a quarter of a second),
// and recompiles only what changed otherwise. tsc never deletes what it once emitted, so the outputs
// of a deleted or moved source are removed here: a stale dist/foo.js would still load, and would even
// shadow a new dist/foo/index.js for require('./foo'). Nor does tsc -b notice an output deleted by
// hand: then the incremental state is dropped and everything is compiled again. Plain JavaScript,
// so that it runs before anything is compiled and without a TypeScript loader.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ensureExplorerBundle } from './explorer-bundle.js';

const ROOT = process.cwd();
const SOURCE = path.join(ROOT, 'src');
const OUT = path.join(ROOT, 'dist');
/** Where tsconfig.build.json keeps the incremental state: inside dist/, so deleting dist/ resets it. */
const BUILD_INFO = path.join(OUT, '.tsbuildinfo');
/** The explorer page's bundle: Vite's output, not the compiler's, so never pruned. */
const EXPLORER_OUT = path.join(OUT, 'explorer');
/** What tsc writes for one source file, longest suffix first. */
const OUTPUT_SUFFIXES = ['.d.ts.map', '.js.map', '.d.ts', '.js'];
const SOURCE_SUFFIXES = ['.ts', '.js'];
/** A cold build on a loaded 2-core machine takes under a minute; past this something is wrong. */
const BUILD_TIMEOUT_MS = 10 * 60_000;

/**
 * True when a source has no .js in dist/: tsc -b trusts dist/.tsbuildinfo and would not emit it again.
 * @param {string} dir
 * @returns {boolean}
 */
function outputMissing(dir = SOURCE) {
  return readdirSync(dir, { withFileTypes: true }).some((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return outputMissing(full);
    const suffix = SOURCE_SUFFIXES.find((candidate) => entry.name.endsWith(candidate));
    if (suffix === undefined || entry.name.endsWith('.d.ts')) return false;
    return !existsSync(path.join(OUT, path.relative(SOURCE, full).slice(0, -suffix.length) + '.js'));
  });
}

/** @returns {boolean} */
function compile() {
  if (outputMissing()) rmSync(BUILD_INFO, { force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (result.error) throw new Error(`tsc -b failed to run: ${result.error.message}`);
  if (result.status !== 0) {
    process.exitCode = result.status ?? 1;
    return false;
  }
  return true;
}

/**
 * True when `output` (a path inside dist/) was emitted for a source that still exists.
 * @param {string} output
 * @returns {boolean}
 */
function hasSource(output) {
  const relative = path.relative(OUT, output);
  const suffix = OUTPUT_SUFFIXES.find((candidate) => relative.endsWith(candidate));
  if (suffix === undefined) return true; // not a compiler output (e.g. .tsbuildinfo): leave it
  const base = relative.slice(0, -suffix.length);
  return SOURCE_SUFFIXES.some((sourceSuffix) => existsSync(path.join(SOURCE, base + sourceSuffix)));
}

/**
 * Deletes the outputs of sources that are gone, then the folders left empty; returns what went.
 * @param {string} dir
 * @returns {string[]}
 */
function pruneStaleOutputs(dir = OUT) {
  /** @type {string[]} */
  const removed = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (full === EXPLORER_OUT) continue;
    if (entry.isDirectory()) {
      removed.push(...pruneStaleOutputs(full));
      if (readdirSync(full).length === 0) rmdirSync(full);
    } else if (!hasSource(full)) {
      rmSync(full);
      removed.push(path.relative(ROOT, full));
    }
  }
  return removed;
}

if (compile() && existsSync(OUT)) {
  const removed = pruneStaleOutputs();
  if (removed.length > 0) process.stdout.write(`removed the outputs of deleted sources: ${removed.join(', ')}\n`);
}

if (process.exitCode === undefined || process.exitCode === 0) {
  try {
    ensureExplorerBundle(ROOT);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
