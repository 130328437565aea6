// SIGTERM as a load balancer expects it, against the real server process: readiness fails at
// once, the listener keeps accepting for SHUTDOWN_DELAY, every request whose bytes reached the
// server is answered (with `Connection: close`), idle keep-alive connections close, then new
// connections are refused and the process exits 0. Before, Apollo's drain closed the listener at
// once: of 20 logins sent just before SIGTERM, most got ECONNRESET.
import http from 'node:http';
import net from 'node:net';
import { freshDatabase } from '../helpers/app';
import { pollUntil, until } from '../helpers/eventually';
import { PASSWORD, uniqueEmail } from '../helpers/factories';
import { gql } from '../helpers/graphql';
import { killServerProcesses, serverEnv, startServerProcess } from '../helpers/server-process';

type Database = Awaited<ReturnType<typeof freshDatabase>>;
let database: Database | undefined;

afterAll(async () => {
  await killServerProcesses();
  await database?.drop();
});

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
  readonly body: { data?: Record<string, any> | null; errors?: unknown[] };
}

/** One request on its own new connection (no agent, so nothing is reused). */
function request(port: number, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        agent: false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.once('end', () => {
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: JSON.parse(text) });
        });
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

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

/** A connection that has served one request and now sits idle under keep-alive; `closed` settles when the server closes it. */
async function idleKeepAliveConnection(port: number): Promise<{ closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      resolve();
    }),
  );
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  await until('the keep-alive answer', async () => text.includes('{"status":"ok"}'), 30_000, 10);
  return { closed };
}

const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken user { id } } }';

it('answers every login sent around SIGTERM, fails readiness during SHUTDOWN_DELAY, then refuses connections and exits 0', async () => {
  database = await freshDatabase();
  const server = await startServerProcess(
    serverEnv(database, {
      RATE_LIMITS: 'off',
      BCRYPT_COST: '10',
      SHUTDOWN_DELAY: '5s',
      SHUTDOWN_GRACE: '2m',
      PASSWORD_HASH_QUEUE_TIMEOUT: '2m',
    }),
  );
  const url = `http://127.0.0.1:${String(server.port)}`;
  const account = { email: uniqueEmail('drain'), password: PASSWORD };
  const created = await gql({ url }, `mutation ($input: SignupInput!) { signup(input: $input) { user { id } } }`, {
    input: { ...account, name: 'Drain' },
  });
  expect(created.errors).toBeUndefined();
  expect((await request(server.port, 'GET', '/readyz')).status).toBe(200);
  const idle = await idleKeepAliveConnection(server.port);

  // 20 logins, each on a new connection, and the signal right behind them: some are still in the
  // kernel's backlog, some accepted but not yet read, some being worked on.
  const logins = Array.from({ length: 20 }, () =>
    request(server.port, 'POST', '/graphql', { query: LOGIN, variables: { input: account } }),
  );
  server.signal('SIGTERM');

  // Readiness fails while the listener still accepts: a probe is a new connection, answered 503.
  await until('/readyz to answer 503', async () => (await request(server.port, 'GET', '/readyz')).status === 503, 30_000, 20);
  // Idle keep-alive connections are closed at once.
  await idle.closed;
  // A login that arrives during the delay (a balancer that has not noticed yet) is still served.
  const late = await request(server.port, 'POST', '/graphql', { query: LOGIN, variables: { input: account } });
  expect(late.status).toBe(200);
  expect(late.body.errors).toBeUndefined();
  expect(late.connection).toBe('close');

  const answers = await Promise.allSettled(logins);
  const failures = answers.filter((answer) => answer.status === 'rejected').map((answer) => String(answer.reason));
  expect(failures).toEqual([]);
  for (const answer of answers) {
    if (answer.status !== 'fulfilled') continue;
    expect(answer.value.status).toBe(200);
    expect(answer.value.body.errors).toBeUndefined();
    expect(answer.value.body.data?.['login'].accessToken).toEqual(expect.any(String));
  }

  // After the delay the listener closes, and the process exits cleanly.
  await until('a new connection to be refused', () => connectionRefused(server.port), 60_000, 50);
  expect(await server.exited).toEqual({ code: 0, signal: null });
  expect(server.output()).toMatch(/"delayMs":5000/);
  expect(server.output()).not.toMatch(/shutdown failed|timed out|did not finish|"level":50/);
}, 180_000);

it('lets an operation whose client left finish before it closes the pools', async () => {
  const db = await freshDatabase();
  const server = await startServerProcess(
    serverEnv(db, {
      RATE_LIMITS: 'off',
      // One slow hash at a time and no queue: while it runs, every other login is refused at once.
      BCRYPT_COST: '14',
      PASSWORD_HASH_THREADS: '1',
      PASSWORD_HASH_QUEUE_MAX: '0',
      SHUTDOWN_DELAY: '0s',
      SHUTDOWN_GRACE: '2m',
    }),
  );
  try {
    const url = `http://127.0.0.1:${String(server.port)}`;
    const account = { email: uniqueEmail('left'), password: PASSWORD };
    // Admitted once the start-up's own hash (the decoy for unknown emails) is done.
    const created = await pollUntil('the signup to be admitted', async () => {
      const response = await gql({ url }, `mutation ($input: SignupInput!) { signup(input: $input) { user { id } } }`, {
        input: { ...account, name: 'Left' },
      });
      return response.status === 503 ? undefined : response;
    });
    expect(created.errors).toBeUndefined();

    // A login whose client leaves once its comparison is running.
    const body = JSON.stringify({ query: LOGIN, variables: { input: account } });
    const leaving = http.request({
      host: '127.0.0.1',
      port: server.port,
      path: '/graphql',
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    leaving.on('error', () => undefined);
    leaving.end(body);
    // The thread is busy (with that login: the probes run one after another) once a probe is refused.
    await until(
      'a login to be refused while the first one hashes',
      async () => (await request(server.port, 'POST', '/graphql', { query: LOGIN, variables: { input: account } })).status === 503,
      60_000,
      20,
    );
    leaving.destroy();
    server.signal('SIGTERM');

    // No connection is left, but the operation still runs: the pools stay open until it is done.
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).not.toMatch(/Terminating worker thread|shutdown failed|timed out|"level":50/);
  } finally {
    await db.drop();
  }
}, 180_000);
