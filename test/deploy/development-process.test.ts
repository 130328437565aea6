// `npm run dev` as a newcomer sees it: readable log lines (pino-pretty), a start-up banner with the
// URL, the database mode and the Sandbox link, and no secret in what is printed.
import { freshDatabase } from '../helpers/app';
import { PASSWORD, uniqueEmail } from '../helpers/factories';
import { killServerProcesses, serverEnv, startServerProcess } from '../helpers/server-process';

let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;

afterAll(async () => {
  await killServerProcesses();
  await database?.drop();
});

it('prints a readable banner with the URL, database mode and Sandbox link, and logs requests by id without secrets', async () => {
  // Empty, as on a newcomer's first start: the process creates the database and migrates it.
  database = await freshDatabase({ empty: true });
  // A password in DATABASE_URL must not reach the banner.
  const databaseUrl = database.databaseUrl ? new URL(database.databaseUrl) : undefined;
  if (databaseUrl) databaseUrl.password = 'db-password-not-for-logs';
  // Development as `npm run dev` runs it: no secrets given (generated under DATA_DIR).
  const env = serverEnv(database, {
    PATH: process.env['PATH'],
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    BCRYPT_COST: '4',
    DATABASE_URL: databaseUrl?.toString(),
    JWT_ACCESS_SECRET: undefined,
    JWT_REFRESH_SECRET: undefined,
  });
  // The pretty banner spans several lines: wait for its last field.
  const server = await startServerProcess(env, (output) => output.includes('studio:'));
  const { port } = server;
  const url = `http://127.0.0.1:${String(port)}/graphql`;

  // pino-pretty lines, not JSON objects.
  const output = server.output();
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

  server.signal('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
  const finalOutput = server.output();
  expect(finalOutput).toContain('shutting down');
  expect(finalOutput).not.toContain(PASSWORD);
  expect(finalOutput).not.toContain(body.data?.signup?.accessToken);
}, 120_000);
