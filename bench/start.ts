// `npm run bench:start`: how long `npm start` takes until /readyz answers 200, on the embedded
// database in a temporary DATA_DIR. In a scratch copy of the project (src/, the tsconfig files,
// package.json, scripts/build.mjs; node_modules linked), so the working tree's dist/ is left alone:
//   first start     no dist/ and a new DATA_DIR: a full compile, the database created and migrated
//   second start    `npm start` again, nothing changed: the incremental build finds nothing to do
//   after an edit   `npm start` after one source file changed: that file and its dependents compiled
//   node dist/main.js   the compiled server alone, the floor for the two above
// BENCH_ROUNDS (default 3) rounds of the last three; medians, with min and max.
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT } from './lib/processes';
import { fmt, median } from './lib/util';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
/** A start that takes longer has failed (a cold compile on a loaded 2-core machine takes under a minute). */
const READY_WITHIN_MS = 300_000;
const EXIT_WITHIN_MS = 30_000;

function scratchProject(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-start-'));
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) copyFileSync(path.join(ROOT, file), path.join(dir, file));
  mkdirSync(path.join(dir, 'scripts'));
  copyFileSync(path.join(ROOT, 'scripts', 'build.mjs'), path.join(dir, 'scripts', 'build.mjs'));
  cpSync(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Runs `command` in `cwd` until /readyz is 200; returns the milliseconds from spawn, after a clean stop. */
async function timeToReady(label: string, command: string[], cwd: string, dataDir: string): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DELAY: '0s',
  };
  delete env['DATABASE_URL'];
  delete env['REDIS_URL'];
  delete env['NODE_ENV'];
  const started = performance.now();
  // Its own process group: `npm start` is npm -> sh -> node, and the whole group is stopped.
  const child = spawn(command[0] ?? 'npm', command.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const group = -(child.pid ?? 0);
  const signal = (name: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(group, name);
      return true;
    } catch {
      return false; // the whole group is gone
    }
  };
  /** npm exits at once on SIGTERM; the server it started drains first: wait for every process of the group. */
  const groupGone = async (withinMs: number): Promise<boolean> => {
    const deadline = performance.now() + withinMs;
    while (signal(0)) {
      if (performance.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  };
  const stop = async (): Promise<void> => {
    signal('SIGTERM');
    if (await groupGone(EXIT_WITHIN_MS)) return;
    signal('SIGKILL');
    if (!(await groupGone(EXIT_WITHIN_MS))) throw new Error(`${label} (process group ${String(-group)}) survived SIGKILL`);
  };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${label} exited before it was ready:\n${stderr}`);
      if (performance.now() - started > READY_WITHIN_MS)
        throw new Error(`${label} was not ready within ${String(READY_WITHIN_MS)} ms:\n${stderr}`);
      const ready = await fetch(`http://127.0.0.1:${String(port)}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ready) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await stop();
  }
}

function row(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const spread = values.length > 1 ? `${fmt(sorted[0] ?? NaN)}–${fmt(sorted.at(-1) ?? NaN)}` : '';
  return `| ${label} | ${fmt(median(values))} | ${spread} | ${String(values.length)} |`;
}

async function main(): Promise<void> {
  const project = scratchProject();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-start-data-'));
  try {
    const npmStart = ['npm', 'start', '--silent'];
    const first = await timeToReady('first start', npmStart, project, dataDir);
    const second: number[] = [];
    const edited: number[] = [];
    const node: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      second.push(await timeToReady('second start', npmStart, project, dataDir));
      appendFileSync(path.join(project, 'src', 'http', 'probes.ts'), `\n// bench:start edit ${String(round)}\n`);
      edited.push(await timeToReady('start after an edit', npmStart, project, dataDir));
      node.push(await timeToReady('node dist/main.js', [process.execPath, 'dist/main.js'], project, dataDir));
    }
    process.stdout.write(
      [
        `Time from spawn to /readyz 200, embedded database, ${String(os.cpus().length)} cores, Node ${process.version}, ${new Date().toISOString()}`,
        '',
        '| start | median ms | min–max ms | runs |',
        '| --- | ---: | ---: | ---: |',
        row('`npm start`, first (no dist/, new DATA_DIR)', [first]),
        row('`npm start`, second (nothing changed)', second),
        row('`npm start` after editing one source file', edited),
        row('`node dist/main.js`', node),
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(project, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
