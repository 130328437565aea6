// The server process as the image runs it: `node dist/main.js` under NODE_ENV=production and
// HOST=0.0.0.0. `docker stop` sends SIGTERM and expects a clean exit once requests are drained.
import { freshDatabase } from '../helpers/app';
import { killServerProcesses, serverEnv, startServerProcess } from '../helpers/server-process';

let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;

afterAll(async () => {
  await killServerProcesses();
  await database?.drop();
});

it('serves in production mode and exits 0 on SIGTERM', async () => {
  database = await freshDatabase();
  const server = await startServerProcess(serverEnv(database, { BCRYPT_COST: '10' }));
  const { port } = server;
  expect(server.output()).toContain('GraphQL API ready at http://0.0.0.0:');

  const health = await fetch(`http://127.0.0.1:${String(port)}/healthz`);
  expect(health.status).toBe(200);
  // Production: no landing page for browsers.
  const landing = await fetch(`http://127.0.0.1:${String(port)}/graphql`, { headers: { accept: 'text/html' } });
  expect(await landing.text()).not.toContain('<html');
  // The database works before the shutdown (the password pool and the ORM are in use).
  const signup = await fetch(`http://127.0.0.1:${String(port)}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
      variables: { input: { email: `shutdown-${String(port)}@example.com`, password: 'correct horse battery', name: 'Before Shutdown' } },
    }),
  });
  expect(((await signup.json()) as { errors?: unknown }).errors).toBeUndefined();

  server.signal('SIGTERM');
  expect(await server.exited).toEqual({ code: 0, signal: null });
  expect(server.output()).toContain('shutting down');
  expect(server.output()).not.toMatch(/shutdown failed|timed out|Start-up failed/);
  await expect(fetch(`http://127.0.0.1:${String(port)}/healthz`)).rejects.toThrow();
}, 120_000);
