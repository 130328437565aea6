// SIGTERM against the real server process (`node src/main.ts`, production mode), as `docker stop`
// or Kubernetes sends it: requests already in flight finish, new connections are refused, the
// pools close, and the process exits 0; a request that cannot finish is cut off after
// SHUTDOWN_GRACE and the process exits non-zero, still closing its pools.
import http from 'node:http';
import net from 'node:net';
import { Client } from 'pg';
import { freshDatabase, onServer, startTestApp } from '../helpers/app';
import { PASSWORD, uniqueEmail } from '../helpers/factories';
import { pollUntil, until } from '../helpers/eventually';
import { gql } from '../helpers/graphql';
import { must } from '../helpers/must';
import { killServerProcesses, serverEnv, startServerProcess, type ServerProcess } from '../helpers/server-process';

/** A bcrypt cost at which each hash takes a good fraction of a second, so requests stay in flight. */
const SLOW_BCRYPT_COST = '12';
const AUTH = 'accessToken user { id email }';

type Database = Awaited<ReturnType<typeof freshDatabase>>;

const databases: Database[] = [];

afterAll(async () => {
  await killServerProcesses();
  for (const database of databases) await database.drop();
});

/** No SHUTDOWN_DELAY: the listener closes as soon as the signal arrives (test/deploy/drain.test.ts covers the delay). */
function startServer(database: Database, env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess(serverEnv(database, { RATE_LIMITS: 'off', SHUTDOWN_DELAY: '0s', ...env }));
}

interface InFlight {
  /** Resolves once the server has taken the request: it answered `100 Continue`, and the body is sent. */
  readonly accepted: Promise<void>;
  readonly response: Promise<{ status: number; body: { data?: Record<string, any> | null; errors?: unknown[] } }>;
  settled: boolean;
}

/**
 * A GraphQL POST sent with `Expect: 100-continue`. Node's HTTP server answers `100 Continue` in the
 * same step in which it hands the request to the application, so a client that has read it knows
 * the server is working on the request (and counts it as in flight) without guessing from a delay.
 */
function postInFlight(port: number, query: string, variables: Record<string, unknown>): InFlight {
  const body = JSON.stringify({ query, variables });
  const req = http.request({
    host: '127.0.0.1',
    port,
    path: '/graphql',
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
  });
  const accepted = new Promise<void>((resolve, reject) => {
    req.once('continue', () => {
      req.end(body, () => {
        resolve();
      });
    });
    req.once('error', reject);
  });
  const response = new Promise<{ status: number; body: { data?: Record<string, any> | null; errors?: unknown[] } }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
      res.once('error', reject);
    });
    req.once('error', reject);
  });
  req.flushHeaders();
  const inFlight: InFlight = { accepted, response, settled: false };
  void response.then(
    () => (inFlight.settled = true),
    () => (inFlight.settled = true),
  );
  return inFlight;
}

/** One connection attempt: true when the port refuses it, false when a server accepted it. */
function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve(true);
      else reject(error);
    });
  });
}

/** A connection that has served one request and now sits idle under keep-alive. */
async function idleKeepAliveConnection(port: number): Promise<{ closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      resolve();
    });
  });
  socket.on('error', () => undefined);
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  let text = '';
  await new Promise<void>((resolve) => {
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('{"status":"ok"}')) resolve();
    });
  });
  expect(text).toMatch(/^HTTP\/1\.1 200/);
  return { closed };
}

/** PostgreSQL: what the server knows of the sessions to one database. */
async function sessionStats(databaseUrl: string): Promise<{ open: number; sessions: number; abandoned: number }> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  // A new connection each time: the statistics views are a snapshot taken once per transaction.
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ open: number; sessions: number; abandoned: number }>(
      `select (select count(*) from pg_stat_activity where datname = $1)::int as open,
              coalesce(sessions, 0)::int as sessions, coalesce(sessions_abandoned, 0)::int as abandoned
       from pg_stat_database where datname = $1`,
      [name],
    );
    return must(rows[0], `the pg_stat_database row of ${name}`);
  } finally {
    await client.end();
  }
}

/**
 * On PostgreSQL, after the process is gone: no connection to its database is left, and every
 * session it had ended with the protocol's Terminate message (the pool was closed) rather than
 * by the socket dropping (a process that dies with open connections counts as abandoned).
 */
async function expectPoolsClosedOnServer(database: Database): Promise<void> {
  if (!onServer || !database.databaseUrl) return;
  const databaseUrl = database.databaseUrl;
  const stats = await pollUntil('the database sessions to end', async () => {
    const now = await sessionStats(databaseUrl);
    return now.open === 0 ? now : undefined;
  });
  expect(stats.sessions).toBeGreaterThan(0);
  expect(stats.abandoned).toBe(0);
}

it('finishes the requests in flight, refuses new connections, closes the pools and exits 0', async () => {
  const database = await freshDatabase();
  databases.push(database);
  // A grace period long enough for a loaded machine: this test is about requests that can finish.
  // The six requests queue for the hashing threads as long as they must (no PASSWORD_HASH_QUEUE_TIMEOUT refusal).
  const server = await startServer(database, { BCRYPT_COST: SLOW_BCRYPT_COST, SHUTDOWN_GRACE: '2m', PASSWORD_HASH_QUEUE_TIMEOUT: '2m' });
  const url = `http://127.0.0.1:${String(server.port)}`;

  const existing = { email: uniqueEmail('existing'), password: PASSWORD };
  const created = await gql({ url }, `mutation ($input: SignupInput!) { signup(input: $input) { user { id } } }`, {
    input: { ...existing, name: 'Existing' },
  });
  expect(created.errors).toBeUndefined();
  const existingId = (created.data?.['signup'] as { user: { id: string } }).user.id;
  if (onServer) expect((await sessionStats(must(database.databaseUrl, 'the database URL'))).open).toBeGreaterThan(0);

  const idle = await idleKeepAliveConnection(server.port);

  // Three signups (a hash each) and three logins (a comparison each), all on the password pool.
  const signupEmails = [uniqueEmail('inflight'), uniqueEmail('inflight'), uniqueEmail('inflight')];
  const requests = [
    ...signupEmails.map((email) =>
      postInFlight(server.port, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH} } }`, {
        input: { email, password: PASSWORD, name: 'In Flight' },
      }),
    ),
    ...[1, 2, 3].map(() =>
      postInFlight(server.port, `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH} } }`, { input: existing }),
    ),
  ];
  await Promise.all(requests.map((request) => request.accepted));
  server.signal('SIGTERM');
  // Every one of them was taken by the server and had not been answered when the signal went out.
  expect(requests.filter((request) => request.settled)).toHaveLength(0);

  // New connections are refused while the requests in flight are still being worked on, and
  // the idle keep-alive connection is closed rather than kept for a next request.
  await until('a new connection to be refused', () => connectionRefused(server.port), 15_000, 20);
  await idle.closed;
  expect(requests.filter((request) => !request.settled).length).toBeGreaterThan(0);

  const responses = await Promise.all(requests.map((request) => request.response));
  for (const response of responses) {
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
  }
  const payloads = responses.map(
    (response) => Object.values(response.body.data ?? {})[0] as { accessToken: string; user: { id: string; email: string } },
  );
  expect(payloads.slice(0, 3).map((payload) => payload.user.email)).toEqual(signupEmails);
  expect(payloads.slice(3).map((payload) => payload.user.id)).toEqual([existingId, existingId, existingId]);

  expect(await server.exited).toEqual({ code: 0, signal: null });
  expect(server.output()).toContain('shutting down');
  expect(server.output()).not.toMatch(/shutdown failed|timed out|did not finish|Start-up failed|"level":50/);
  await expectPoolsClosedOnServer(database);

  // What the requests answered was committed: each access token works on a new instance over the same database.
  const after = await startTestApp({ database });
  try {
    for (const payload of payloads) {
      const me = await gql(after, `query { me { id } }`, {}, { token: payload.accessToken });
      expect(me.errors).toBeUndefined();
      expect(me.data?.['me'].id).toBe(payload.user.id);
    }
  } finally {
    await after.stop();
  }
}, 300_000);

it('cuts off a request that cannot finish within SHUTDOWN_GRACE, closes the pools and exits 1', async () => {
  const database = await freshDatabase();
  databases.push(database);
  const server = await startServer(database, { BCRYPT_COST: '10', SHUTDOWN_GRACE: '1s' });

  // A client that sends its headers and half of its body, then stalls: the request can never finish.
  const body = JSON.stringify({ query: '{ __typename }', padding: 'x'.repeat(200) });
  const stalled = http.request({
    host: '127.0.0.1',
    port: server.port,
    path: '/graphql',
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
  });
  const cutOff = new Promise<string>((resolve) => {
    stalled.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code ?? error.message);
    });
    stalled.once('response', (res) => {
      resolve(`answered ${String(res.statusCode)}`);
    });
  });
  await new Promise<void>((resolve) => {
    stalled.once('continue', () => {
      stalled.write(body.slice(0, body.length / 2), () => {
        resolve();
      });
    });
    stalled.flushHeaders();
  });

  server.signal('SIGTERM');
  const signalledAt = Date.now();
  const exit = await server.exited;
  const secondsToExit = (Date.now() - signalledAt) / 1000;
  // The stalled request lost its connection instead of holding the process.
  expect(await cutOff).toMatch(/ECONNRESET|socket hang up/);
  expect(exit).toEqual({ code: 1, signal: null });
  expect(server.output()).toContain('graceful shutdown timed out');
  expect(server.output()).toMatch(/"graceMs":1000/);
  expect(server.output()).not.toMatch(/shutdown failed|did not finish/);
  // Bounded by SHUTDOWN_GRACE (1s) plus closing the pools, well before the 10s default would end.
  expect(secondsToExit).toBeLessThan(8);
  await expectPoolsClosedOnServer(database);
}, 120_000);
