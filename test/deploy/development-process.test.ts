// `npm run dev` as a newcomer sees it: readable log lines (pino-pretty), a start-up banner with the
// URL, the database mode and the Sandbox link, and no secret in what is printed.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freshDatabase } from '../helpers/app';
import { PASSWORD, uniqueEmail } from '../helpers/factories';

const ROOT = path.resolve(__dirname, '..', '..');

let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await database?.drop();
});

it('prints a readable banner with the URL, database mode and Sandbox link, and logs requests by id without secrets', async () => {
  // Empty, as on a newcomer's first start: the process creates the database and migrates it.
  database = await freshDatabase({ empty: true });
  // A password in DATABASE_URL must not reach the banner.
  const databaseUrl = database.databaseUrl ? new URL(database.databaseUrl) : undefined;
  if (databaseUrl) databaseUrl.password = 'db-password-not-for-logs';
  child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'],
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'debug',
      DATA_DIR: database.dataDir,
      BCRYPT_COST: '4',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl.toString() } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null }>((resolve) => child?.once('exit', (code) => resolve({ code })));
  const port = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: string): void => {
      output += chunk;
      const ready = /GraphQL API ready at http:\/\/127\.0\.0\.1:(\d+)\/graphql/.exec(output);
      if (ready && output.includes('studio:')) resolve(ready[1]);
    };
    child?.stdout?.setEncoding('utf8').on('data', onData);
    child?.stderr?.setEncoding('utf8').on('data', onData);
    void exited.then((status) => reject(new Error(`the server exited before it was ready (${JSON.stringify(status)}): ${output}`)));
  });
  const url = `http://127.0.0.1:${port}/graphql`;

  // pino-pretty lines, not JSON objects.
  const banner = output.split('\n').find((line) => line.includes('GraphQL API ready'));
  expect(banner).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GraphQL API ready at /);
  expect(banner).toContain(`open ${url} in a browser for Apollo Sandbox`);
  expect(output).toContain(`studio: "https://studio.apollographql.com/sandbox/explorer?endpoint=${encodeURIComponent(url)}"`);
  expect(output).toMatch(databaseUrl ? /database: "postgresql \(postgres:\/\/postgres:redacted@/ : /database: "embedded \(/);
  expect(output).not.toContain('db-password-not-for-logs');

  // The request id comes back in a header; a sign-up's password appears nowhere in the log.
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'dev-banner-request-1' },
    body: JSON.stringify({
      query: 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
      variables: { input: { email: uniqueEmail('dev'), password: PASSWORD, name: 'Dev User' } },
    }),
  });
  expect(res.headers.get('x-request-id')).toBe('dev-banner-request-1');
  const body = (await res.json()) as { data?: { signup?: { accessToken?: string } } };
  expect(body.data?.signup?.accessToken).toEqual(expect.any(String));

  child.kill('SIGTERM');
  expect(await exited).toEqual({ code: 0 });
  expect(output).toContain('shutting down');
  expect(output).not.toContain(PASSWORD);
  expect(output).not.toContain(body.data?.signup?.accessToken);
}, 120_000);
