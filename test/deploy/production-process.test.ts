// The server process as the image runs it: `node dist/main.js` under NODE_ENV=production and
// HOST=0.0.0.0. `docker stop` sends SIGTERM and expects a clean exit once requests are drained.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freshDatabase, TEST_ACCESS_SECRET, TEST_REFRESH_SECRET } from '../helpers/app';

const ROOT = path.resolve(__dirname, '..', '..');

let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  await database?.drop();
});

it('serves in production mode and exits 0 on SIGTERM', async () => {
  database = await freshDatabase();
  child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: database.dataDir,
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
      JWT_ACCESS_SECRET: TEST_ACCESS_SECRET,
      JWT_REFRESH_SECRET: TEST_REFRESH_SECRET,
      BCRYPT_COST: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child?.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: string): void => {
      output += chunk;
      const ready = /GraphQL API ready at http:\/\/0\.0\.0\.0:(\d+)\/graphql/.exec(output);
      if (ready) resolve(ready[1]);
    };
    child?.stdout?.setEncoding('utf8').on('data', onData);
    child?.stderr?.setEncoding('utf8').on('data', onData);
    void exited.then((status) => reject(new Error(`the server exited before it was ready (${JSON.stringify(status)}): ${output}`)));
  });

  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(health.status).toBe(200);
  // Production: no landing page for browsers.
  const landing = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
  expect(await landing.text()).not.toContain('<html');
  // The database works before the shutdown (the password pool and the ORM are in use).
  const signup = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
      variables: { input: { email: `shutdown-${port}@example.com`, password: 'correct horse battery', name: 'Before Shutdown' } },
    }),
  });
  expect(((await signup.json()) as { errors?: unknown }).errors).toBeUndefined();

  child.kill('SIGTERM');
  expect(await exited).toEqual({ code: 0, signal: null });
  expect(output).toContain('shutting down');
  expect(output).not.toMatch(/shutdown failed|timed out|Start-up failed/);
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
}, 120_000);
