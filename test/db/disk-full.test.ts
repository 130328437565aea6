// A full disk under the embedded database: writes fail with SQLSTATE 53100, which clients get as
// SERVICE_UNAVAILABLE (retry later, nothing of the request kept), /readyz answers 503 until space is
// freed, and then the same request succeeds without a restart. A first start on a disk too small for
// the database says so, naming DATA_DIR, instead of `[object Object]`. Each case gets a tmpfs of its
// own, mounted here (root) and unmounted in afterAll.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshDatabase } from '../helpers/app';
import { uniqueEmail } from '../helpers/factories';
import { killServerProcesses, runUntilExit, serverEnv, startServerProcess } from '../helpers/server-process';

const SIGNUP = 'mutation ($input: SignupInput!) { signup(input: $input) { user { id } } }';
const mounts: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

/** A fresh tmpfs of `size` (such as `64m`), mounted 0700 on a new directory. */
function tmpfs(size: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'auth-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Writes zeros to `file` until the filesystem has no byte left. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

afterAll(async () => {
  await killServerProcesses();
  for (const cleanup of cleanups) await cleanup();
  for (const dir of mounts) {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

// Mounting needs root (CI runs as root); elsewhere the file is skipped, except in CI where it must run.
const canMount = process.getuid?.() === 0 || process.env['CI'] === 'true';

(canMount ? describe : describe.skip)('a full disk under the embedded database', () => {
  it('a first start on a disk too small: the real reason, naming DATA_DIR; no lock left behind', async () => {
    const dataDir = path.join(tmpfs('8m'), 'data');
    const result = await runUntilExit(serverEnv({ dataDir, databaseUrl: undefined }, { BCRYPT_COST: '10' }));
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      `Start-up failed: opening the embedded database under DATA_DIR ${dataDir} failed: no space left on device (ENOSPC)`,
    );
    expect(result.output).not.toContain('[object Object]');
    expect(existsSync(path.join(dataDir, 'pglite.pid'))).toBe(false);
  }, 180_000);

  it('writes answer SERVICE_UNAVAILABLE and /readyz 503 while the disk is full; once space is freed, the same signup succeeds', async () => {
    const mount = tmpfs('64m');
    const dataDir = path.join(mount, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    // The migrated template when the suite has one (the embedded database), else the server creates it.
    const fresh = await freshDatabase();
    cleanups.push(() => fresh.drop());
    if (fresh.databaseUrl === undefined) cpSync(path.join(fresh.dataDir, 'pglite'), path.join(dataDir, 'pglite'), { recursive: true });

    const server = await startServerProcess(
      serverEnv({ dataDir, databaseUrl: undefined }, { BCRYPT_COST: '10', RATE_LIMITS: 'off', MAIL_POLL_INTERVAL: '1h' }),
    );
    const base = `http://127.0.0.1:${String(server.port)}`;
    const signup = async (email: string): Promise<any> => {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: SIGNUP, variables: { input: { email, password: 'correct horse battery', name: 'Full Disk' } } }),
      });
      return response.json();
    };
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const filler = path.join(mount, 'filler');
    fill(filler);
    const email = uniqueEmail('disk-full');
    const refused = await signup(email);
    expect(refused.errors?.map((error: any) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(JSON.stringify(refused)).not.toMatch(/space|53100|disk/i);
    const readiness = await fetch(`${base}/readyz`);
    expect({ status: readiness.status, body: await readiness.json() }).toEqual({ status: 503, body: { status: 'disk full' } });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    rmSync(filler);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const accepted = await signup(email);
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data.signup.user.id).toEqual(expect.any(String));

    server.signal('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 180_000);
});
