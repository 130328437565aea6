// One embedded database, one process: PGlite locks nothing, so a second server (or user:create) on the
// same DATA_DIR would replay and overwrite the first one's WAL, and accounts the first acknowledged
// would be gone after a restart. DATA_DIR/pglite.pid (like PostgreSQL's postmaster.pid) refuses the
// second opener. The port is bound before DATA_DIR is touched, so a port clash leaves nothing behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshDatabase } from '../helpers/app';
import { uniqueEmail } from '../helpers/factories';
import { killServerProcesses, runUntilExit, serverEnv, startServerProcess } from '../helpers/server-process';

const PASSWORD = 'correct horse battery staple';
const SIGNUP = 'mutation ($input: SignupInput!) { signup(input: $input) { user { id } } }';
const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { user { id } } }';

async function post(port: number, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${String(port)}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

async function signUp(port: number, email: string): Promise<string> {
  const body = await post(port, SIGNUP, { input: { email, password: PASSWORD, name: 'Lock Test' } });
  expect(body.errors).toBeUndefined();
  return body.data.signup.user.id;
}

/** The pid of a process that has exited: a pid file naming it is stale. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await killServerProcesses();
  for (const cleanup of cleanups) await cleanup();
});

// Always the embedded database, also when the suite runs on a PostgreSQL server.
async function embedded(): Promise<{ dataDir: string; databaseUrl: undefined }> {
  const database = await freshDatabase();
  cleanups.push(() => database.drop());
  if (database.databaseUrl === undefined) return { dataDir: database.dataDir, databaseUrl: undefined };
  return { dataDir: mkdtempSync(path.join(tmpdir(), 'auth-lock-')), databaseUrl: undefined };
}

describe('one process per embedded database (DATA_DIR/pglite.pid)', () => {
  it('refuses a second server and user:create on the same DATA_DIR; the first keeps serving and keeps its accounts', async () => {
    const database = await embedded();
    const env = serverEnv(database, { BCRYPT_COST: '10' });
    const first = await startServerProcess(env);
    const pidFile = path.join(database.dataDir, 'pglite.pid');
    expect(readFileSync(pidFile, 'utf8').split('\n')[0]).toBe(String(first.pid));
    const before = uniqueEmail('lock-before');
    const beforeId = await signUp(first.port, before);

    const second = await runUntilExit(env);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`Start-up failed: DATA_DIR ${database.dataDir} is in use by process ${String(first.pid)}`);
    expect(second.output).not.toContain('GraphQL API ready');

    const cli = await runUntilExit(env, 'src/cli/user-create.ts', ['--email', uniqueEmail('lock-cli'), '--role', 'ADMIN']);
    expect(cli.code).toBe(1);
    expect(cli.output).toContain(`DATA_DIR ${database.dataDir} is in use`);
    expect(cli.output).toMatch(/Stop the server first .* or create the account through the API/);

    // The first server never noticed: it serves, and everything it acknowledged survives a restart.
    const after = uniqueEmail('lock-after');
    const afterId = await signUp(first.port, after);
    first.signal('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(pidFile)).toBe(false);

    const restarted = await startServerProcess(env);
    for (const [email, id] of [
      [before, beforeId],
      [after, afterId],
    ] as const) {
      const login = await post(restarted.port, LOGIN, { input: { email, password: PASSWORD } });
      expect(login.data?.login.user.id).toBe(id);
    }
    restarted.signal('SIGTERM');
    expect((await restarted.exited).code).toBe(0);
  }, 180_000);

  it('takes over a stale pid file: its process is gone, or the pid now belongs to a process started at another time', async () => {
    const database = await embedded();
    const env = serverEnv(database, { BCRYPT_COST: '10' });
    const pidFile = path.join(database.dataDir, 'pglite.pid');
    for (const stale of [`${String(await deadPid())}\n12345\n`, `${String(process.pid)}\n1\n`, '']) {
      writeFileSync(pidFile, stale, { mode: 0o600 });
      const server = await startServerProcess(env);
      expect(readFileSync(pidFile, 'utf8').split('\n')[0]).toBe(String(server.pid));
      await signUp(server.port, uniqueEmail('lock-stale'));
      server.signal('SIGTERM');
      expect((await server.exited).code).toBe(0);
      expect(existsSync(pidFile)).toBe(false);
    }
  }, 180_000);

  it('a port clash exits with a message naming the port and leaves DATA_DIR untouched (no lock, no files)', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'auth-port-clash-'));
    cleanups.push(() => {
      rmSync(parent, { recursive: true, force: true });
    });
    const dataDir = path.join(parent, 'data');
    const occupant: Server = createServer();
    await new Promise<void>((resolve) => occupant.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) =>
          occupant.close(() => {
            resolve();
          }),
        ),
    );
    const { port } = occupant.address() as AddressInfo;
    // Development without secrets: a start that got further would create DATA_DIR/secrets.json too.
    const env = serverEnv(
      { dataDir, databaseUrl: undefined },
      { NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), JWT_ACCESS_SECRET: undefined, JWT_REFRESH_SECRET: undefined },
    );
    const result = await runUntilExit(env);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`Start-up failed: port ${String(port)} on 127.0.0.1 is in use by another process (EADDRINUSE)`);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
