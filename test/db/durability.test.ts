// An acknowledged write survives power loss: on the embedded database, each commit's WAL reaches the
// disk (fsync) before the client gets its answer. PGlite starts PostgreSQL with fsync off, and
// emscripten's Node filesystem has no fsync at all; src/db/durable-nodefs.ts turns both on.
// The real server runs under strace; each signup's request window must hold its WAL writes and,
// after the last of them, an fsync of that WAL file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshDatabase } from '../helpers/app';
import { uniqueEmail } from '../helpers/factories';
import { killServerProcesses, serverEnv, startServerProcess } from '../helpers/server-process';

const SIGNUP = 'mutation ($input: SignupInput!) { signup(input: $input) { user { id } } }';
const SIGNUPS = 5;

interface Syscall {
  readonly at: number; // ms since the epoch, as Date.now()
  readonly name: string;
  readonly fd: number;
  readonly path: string | undefined; // the file behind fd
}

/**
 * The file syscalls of an `strace -f -ttt` log, each with the path its descriptor was opened on
 * (calls split by another thread's, `<unfinished ...>` then `<... resumed>`, are joined).
 */
function fileSyscalls(log: string): Syscall[] {
  const pending = new Map<string, string>();
  const open = new Map<number, string>();
  const calls: Syscall[] = [];
  for (const line of log.split('\n')) {
    const match = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const [, pid = '', time = '0', rest = ''] = match;
    let text = rest;
    if (text.endsWith('<unfinished ...>')) {
      pending.set(pid, text.replace(/\s*<unfinished \.\.\.>$/, ''));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(text);
    if (resumed) {
      text = (pending.get(pid) ?? '') + (resumed[1] ?? '');
      pending.delete(pid);
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(text);
    if (!call) continue;
    const [, name = '', args = '', result = ''] = call;
    if (name === 'openat') {
      const file = /^[^,]+, "([^"]+)"/.exec(args)?.[1];
      if (file !== undefined && Number(result) >= 0) open.set(Number(result), file);
      continue;
    }
    const fd = Number(/^(\d+)/.exec(args)?.[1] ?? -1);
    calls.push({ at: Number(time) * 1000, name, fd, path: open.get(fd) });
    if (name === 'close') open.delete(fd);
  }
  return calls;
}

const isWal = (call: Syscall): boolean => /\/pg_wal\/[0-9A-F]{24}$/.test(call.path ?? '');

// Without strace the test is skipped, except in CI (.ci/run installs it), where it must run.
const hasStrace = spawnSync('strace', ['-V']).status === 0 || process.env['CI'] === 'true';
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await killServerProcesses();
  for (const cleanup of cleanups) await cleanup();
});

(hasStrace ? describe : describe.skip)('embedded database durability (strace)', () => {
  it('fsyncs the WAL after the last WAL write of each commit, before the signup is answered', async () => {
    const fresh = await freshDatabase();
    cleanups.push(() => fresh.drop());
    // Always the embedded database, also when the suite runs on a PostgreSQL server.
    const dataDir = fresh.databaseUrl === undefined ? fresh.dataDir : mkdtempSync(path.join(tmpdir(), 'auth-durable-'));
    if (dataDir !== fresh.dataDir)
      cleanups.push(() => {
        rmSync(dataDir, { recursive: true, force: true });
      });
    const traceDir = mkdtempSync(path.join(tmpdir(), 'auth-strace-'));
    cleanups.push(() => {
      rmSync(traceDir, { recursive: true, force: true });
    });
    const trace = path.join(traceDir, 'strace.log');

    // No background work during the signups (the mail loop and session purge would commit too).
    const env = serverEnv(
      { dataDir, databaseUrl: undefined },
      { BCRYPT_COST: '10', MAIL_POLL_INTERVAL: '1h', SESSION_PURGE_INTERVAL: '1h' },
    );
    const server = await startServerProcess(env, () => true, [
      'strace',
      '-f',
      '-qq',
      '-ttt',
      '-e',
      'trace=openat,close,write,pwrite64,writev,pwritev,fsync,fdatasync',
      '-o',
      trace,
    ]);
    // The server's own pid: the child spawned is strace, the server is strace's child.
    const pid = Number(
      readFileSync(`/proc/${String(server.pid)}/task/${String(server.pid)}/children`, 'utf8')
        .trim()
        .split(' ')[0],
    );
    expect(pid).toBeGreaterThan(0);
    cleanups.unshift(() => {
      try {
        process.kill(pid, 'SIGKILL'); // when the test failed before its SIGTERM
      } catch {
        // exited
      }
    });

    const windows: [number, number][] = [];
    for (let i = 0; i < SIGNUPS; i += 1) {
      const start = Date.now();
      const response = await fetch(`http://127.0.0.1:${String(server.port)}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: SIGNUP,
          variables: { input: { email: uniqueEmail('durable'), password: 'correct horse battery', name: 'Durable' } },
        }),
      });
      expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
      windows.push([start, Date.now()]);
    }
    // strace writes out its log when the traced server exits.
    process.kill(pid, 'SIGTERM');
    expect((await server.exited).code).toBe(0);

    const calls = fileSyscalls(readFileSync(trace, 'utf8'));
    expect(calls.some(isWal)).toBe(true);
    for (const [start, end] of windows) {
      const inWindow = calls.filter((call) => call.at >= start && call.at <= end && isWal(call));
      const lastWrite = inWindow.findLastIndex((call) => call.name.includes('write'));
      expect(lastWrite).toBeGreaterThanOrEqual(0);
      const walFile = inWindow[lastWrite]?.path;
      const syncedAfter = inWindow.slice(lastWrite + 1).filter((call) => /^f(data)?sync$/.test(call.name) && call.path === walFile);
      expect(syncedAfter.length).toBeGreaterThan(0);
    }
  }, 240_000);
});
