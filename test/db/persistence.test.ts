import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { migrations } from '../../src/db/migrations';
import { freshDatabase, startTestApp, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, logIn, signUp } from '../helpers/factories';
import { gql } from '../helpers/graphql';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

describe('a restart on the same database', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let first: TestApp | undefined;
  let second: TestApp | undefined;
  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await database?.drop();
  });

  it('keeps accounts and sessions, and does not re-apply migrations', async () => {
    // An app started on a given database leaves it in place when it stops.
    first = await startTestApp({ database });
    const user = await signUp(first);
    const executedBefore = await first.app.orm.migrator.getExecuted();
    await first.stop();

    second = await startTestApp({ database });

    // The same rows, with their original execution times: nothing was applied a second time.
    const executedAfter = await second.app.orm.migrator.getExecuted();
    expect(executedAfter).toEqual(executedBefore);
    expect(executedAfter.map((row) => row.name.replace(/\.[jt]s$/, ''))).toEqual(migrations.map((m) => m.name));
    expect(await second.app.orm.migrator.getPending()).toEqual([]);

    const login = await logIn(second, user.email, user.password);
    expect(login.id).toBe(user.id);

    const me = await gql(second, `query { me { id email } }`, {}, { token: user.accessToken });
    expect(me.errors).toBeUndefined();
    expect(me.data?.['me']).toEqual({ id: user.id, email: user.email });

    const refreshed = await gql(second, `mutation ($t: String!) { refreshToken(token: $t) { ${AUTH_FIELDS} } }`, {
      t: user.refreshToken,
    });
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data?.['refreshToken'].user.id).toBe(user.id);
    expect(refreshed.data?.['refreshToken'].refreshToken).not.toBe(user.refreshToken);
  });
});

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Polls /healthz until it answers 200; fails after `timeoutMs` or if the process exits first. */
async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited early with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server did not become healthy within ${timeoutMs} ms`);
}

describe('the server process', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await database?.drop();
  });

  it('shuts down gracefully on SIGTERM with exit code 0', async () => {
    database = await freshDatabase();
    const port = await freePort();
    child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env['PATH'],
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: database.dataDir,
        ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
        BCRYPT_COST: '4',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child?.once('exit', (code, signal) => resolve({ code, signal })),
    );

    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, child, 90_000);
    const signedUp = await gql({ url }, `mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }`, {
      input: { email: `shutdown-${port}@example.com`, password: 'correct horse battery', name: 'Before Shutdown' },
    });
    expect(signedUp.errors).toBeUndefined();

    child.kill('SIGTERM');
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(output).toContain('shutting down');
    expect(output).not.toMatch(/shutdown failed|timed out|Start-up failed/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 120_000);
});
