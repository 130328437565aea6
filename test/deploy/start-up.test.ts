// Start-up binds the port before it opens the database: while the database opens, /healthz answers
// 200 and the API 503 with Retry-After; when the database is what failed, the message names it
// (DATABASE_URL without its password) instead of a bare library error.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pollUntil } from '../helpers/eventually';
import { killServerProcesses, runUntilExit, serverEnv } from '../helpers/server-process';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await killServerProcesses();
  for (const cleanup of cleanups) await cleanup();
});

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

it('answers 503 with Retry-After while the database opens, then names DATABASE_URL when opening it fails', async () => {
  // A "database" that accepts connections and never answers: opening it takes until pg's 5 s connect timeout.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  const databasePort = await listening(silent);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        silent.close(() => {
          resolve();
        });
      }),
  );
  // A free port for the server, known before it starts (PORT=0 would only tell it in the banner).
  const probe = createServer();
  const port = await listening(probe);
  await new Promise<void>((resolve) =>
    probe.close(() => {
      resolve();
    }),
  );
  const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-start-up-'));
  cleanups.push(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const databaseUrl = `postgres://app:s3cret-password@127.0.0.1:${String(databasePort)}/auth`;
  const exited = runUntilExit(serverEnv({ dataDir, databaseUrl }, { HOST: '127.0.0.1', PORT: String(port), BCRYPT_COST: '10' }));
  const base = `http://127.0.0.1:${String(port)}`;

  await pollUntil(
    '/healthz to answer while the database opens',
    async () => {
      try {
        return (await fetch(`${base}/healthz`)).status === 200 ? true : undefined;
      } catch {
        return undefined; // not listening yet
      }
    },
    30_000,
    20,
  );
  const graphql = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(graphql.status).toBe(503);
  expect(graphql.headers.get('retry-after')).toBe('1');
  expect(((await graphql.json()) as any).errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
  expect((await fetch(`${base}/readyz`)).status).toBe(503);

  const result = await exited;
  expect(result.code).toBe(1);
  expect(result.output).toContain(
    `Start-up failed: opening the database at DATABASE_URL postgres://app:redacted@127.0.0.1:${String(databasePort)}/auth failed:`,
  );
  expect(result.output).not.toContain('s3cret-password');
}, 60_000);
