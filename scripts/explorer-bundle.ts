// The explorer's bundle (dist/explorer), which every app outside production serves on GET /graphql:
// built with the root's Vite, as `npm run build:explorer` builds it, when it is missing or older than
// its sources. `npm run dev` runs this file first; the tests' global setup calls ensureExplorerBundle.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { EXPLORER_BUNDLE } from '../src/http/explorer';

const ROOT = path.resolve(__dirname, '..');
const SOURCES = [path.join(ROOT, 'explorer'), path.join(ROOT, 'package-lock.json')];

/** The newest modification time among `file` and, for a directory, everything under it. */
function newestMtime(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(file).map((name) => newestMtime(path.join(file, name))));
}

export function explorerBundleIsCurrent(): boolean {
  const index = path.join(EXPLORER_BUNDLE, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs >= Math.max(...SOURCES.map(newestMtime));
}

/** Builds the bundle unless it is current; a build takes some ten seconds. */
export function ensureExplorerBundle(): void {
  if (explorerBundleIsCurrent()) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'explorer', '--logLevel', 'error'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000,
  });
}

if (require.main === module) ensureExplorerBundle();
