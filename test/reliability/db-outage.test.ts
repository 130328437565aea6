import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { AUTH_FIELDS, logIn, signUp, uniqueEmail, type SignedIn } from '../helpers/factories';
import { createPgCluster, type PgCluster } from '../helpers/pg-cluster';
import { must } from '../helpers/must';
import { expectUnavailable as expectMasked, outcome, postWithin, statusWithin, type Answer } from '../helpers/outage';

/**
 * The database goes away while the API serves: a private PostgreSQL cluster (never the shared
 * server, whichever database the suite runs on) is stopped, hung and restarted under a running
 * app. Requests must fail closed and fast, with a masked error; the app must come back on its own.
 */

const ME = `{ me { id email } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`;

/** A request that gets no answer within this long counts as hanging (the test fails). */
const ANSWER_WITHIN_MS = 15_000;

/** Anything of the driver, the server or the code that a masked error must not carry. */
const DRIVER_TEXT =
  /ECONN|EPIPE|connect|postgres|pg_|terminat|timeout|SQL|select |insert |update |refresh_tokens|sessions|injected|stack|node_modules|:\d+:\d+|\d+\.\d+\.\d+\.\d+/i;

const post = (app: TestApp, query: string, variables: Record<string, unknown> = {}, options: { token?: string; requestId?: string } = {}) =>
  postWithin(ANSWER_WITHIN_MS, app, query, variables, options);
const status = (app: TestApp, route: string) => statusWithin(ANSWER_WITHIN_MS, app, route);
const expectUnavailable = (answer: Answer) => {
  expectMasked(answer, DRIVER_TEXT);
};

/**
 * A server that accepts TCP connections on the database's port and never answers, as a
 * frozen host or a proxy in front of a dead database does.
 */
async function silentServer(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const DATABASE = 'auth_api';

/** Created by beforeAll; still undefined in afterAll when that failed first. */
let cluster: PgCluster | undefined;
/** The cluster, for the tests (which beforeAll's success lets run). */
const pg = (): PgCluster => must(cluster, 'the private PostgreSQL cluster');
let app: TestApp;
let dataDir: string | undefined;
let silent: { close(): Promise<void> } | undefined;
const logLines: string[] = [];

beforeAll(async () => {
  cluster = await createPgCluster();
  await cluster.query(`create database ${DATABASE}`);
  dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-outage-'));
  app = await startTestApp({
    database: { dataDir, databaseUrl: cluster.urlOf(DATABASE) },
    logLines,
    // A replayed refresh token is reuse at once: a token consumed by a failed refresh would show.
    env: { LOG_LEVEL: 'error', REFRESH_REUSE_GRACE: '0s' },
  });
}, 60_000);

afterAll(async () => {
  try {
    await silent?.close();
    await stopApps(app);
  } finally {
    await cluster?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

describe('a database outage', () => {
  let user: SignedIn;
  /** A refresh token first presented while the database is away. */
  let heldRefresh: string;

  it('before: signup, login, me and refresh work', async () => {
    user = await signUp(app);
    const login = await logIn(app, user.email, user.password);
    heldRefresh = login.refreshToken;
    expect((await post(app, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, email: user.email } });
    const refreshed = await post(app, REFRESH, { t: user.refreshToken });
    expect(outcome(refreshed)).toBe('ok');
    user = {
      ...user,
      accessToken: refreshed.data?.['refreshToken'].accessToken,
      refreshToken: refreshed.data?.['refreshToken'].refreshToken,
    };
    expect(await status(app, '/readyz')).toBe(200);
  });

  describe('while PostgreSQL is stopped', () => {
    beforeAll(async () => {
      await pg().stop('fast');
    }, 60_000);

    it('me with a valid access token fails closed with a masked SERVICE_UNAVAILABLE', async () => {
      const answer = await post(app, ME, {}, { token: user.accessToken });
      expectUnavailable(answer);
      expect(answer.data).toEqual({ me: null });
    });

    it('login, signup and refreshToken fail closed the same way', async () => {
      const answers = [
        await post(app, LOGIN, { input: { email: user.email, password: user.password } }),
        await post(app, SIGNUP, { input: { email: uniqueEmail(), name: 'Outage', password: user.password } }),
        await post(app, REFRESH, { t: heldRefresh }),
      ];
      for (const answer of answers) {
        expectUnavailable(answer);
        expect(answer.data).toBeNull();
      }
    });

    it('/readyz answers 503, /healthz 200, and what needs no database is still served', async () => {
      expect(await status(app, '/readyz')).toBe(503);
      expect(await status(app, '/healthz')).toBe(200);
      expect(await status(app, '/.well-known/jwks.json')).toBe(200);
      expect((await post(app, `{ __typename }`)).data).toEqual({ __typename: 'Query' });
      // Refused before the database is needed: the usual answer, not an outage.
      expect(outcome(await post(app, ME, {}, { token: 'not-a-token' }))).toBe('UNAUTHENTICATED/TOKEN_INVALID');
    });

    it('logs each failure with its request id, and no password or token', async () => {
      const requestId = `outage-${String(Date.now())}`;
      expectUnavailable(await post(app, LOGIN, { input: { email: user.email, password: user.password } }, { requestId }));
      const logged = logLines.filter((line) => line.includes(`"requestId":"${requestId}"`));
      expect(logged).toHaveLength(1);
      expect(JSON.parse(must(logged[0], 'the logged failure'))).toMatchObject({ msg: 'request failed', path: ['login'] });
      const all = logLines.join('\n');
      for (const secret of [user.password, user.accessToken, user.refreshToken, heldRefresh]) expect(all).not.toContain(secret);
    });
  });

  describe('while the database port accepts connections but never answers', () => {
    beforeAll(async () => {
      silent = await silentServer(pg().port);
    });
    afterAll(async () => {
      await silent?.close();
      silent = undefined;
    });

    it('me, login and refreshToken still fail closed instead of hanging', async () => {
      const answers = await Promise.all([
        post(app, ME, {}, { token: user.accessToken }),
        post(app, LOGIN, { input: { email: user.email, password: user.password } }),
        post(app, REFRESH, { t: heldRefresh }),
      ]);
      for (const answer of answers) expectUnavailable(answer);
      expect(await status(app, '/readyz')).toBe(503);
      expect(await status(app, '/healthz')).toBe(200);
    });
  });

  describe('when PostgreSQL is back', () => {
    beforeAll(async () => {
      await pg().start();
      await until('/readyz answers 200', async () => (await status(app, '/readyz')) === 200);
    }, 60_000);

    it('serves me, login and signup again, without a restart', async () => {
      expect((await post(app, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, email: user.email } });
      expect(outcome(await post(app, LOGIN, { input: { email: user.email, password: user.password } }))).toBe('ok');
      expect(outcome(await post(app, SIGNUP, { input: { email: uniqueEmail(), name: 'After', password: user.password } }))).toBe('ok');
    });

    it('the refresh token presented during the outage was not consumed: it works once', async () => {
      const refreshed = await post(app, REFRESH, { t: heldRefresh });
      expect(outcome(refreshed)).toBe('ok');
      const next = refreshed.data?.['refreshToken'];
      expect(outcome(await post(app, ME, {}, { token: next.accessToken }))).toBe('ok');
      expect(outcome(await post(app, REFRESH, { t: heldRefresh }))).toBe('UNAUTHENTICATED/REFRESH_TOKEN_REUSED');
    });
  });
});

/**
 * rotate() consumes the token with an UPDATE, then inserts the next one, in one transaction.
 * A trigger on the insert makes the refresh fail after the consume: the consume must roll back.
 */
describe('a refresh that fails mid-way never consumes the refresh token', () => {
  const TRIGGER = 'outage_test_fail_insert';

  async function failNextTokenInsertWith(body: string): Promise<void> {
    await pg().query(
      `create or replace function ${TRIGGER}() returns trigger language plpgsql as $$ begin ${body}; return new; end $$;
       create trigger ${TRIGGER} before insert on refresh_tokens for each row execute function ${TRIGGER}();`,
      DATABASE,
    );
  }

  async function removeTrigger(): Promise<void> {
    await pg().query(`drop trigger if exists ${TRIGGER} on refresh_tokens; drop function if exists ${TRIGGER}();`, DATABASE);
  }

  /** The token works exactly once now: a success, then (grace 0) a replay detected as reuse. */
  async function expectUsableOnce(refreshToken: string): Promise<void> {
    expect(outcome(await post(app, REFRESH, { t: refreshToken }))).toBe('ok');
    expect(outcome(await post(app, REFRESH, { t: refreshToken }))).toBe('UNAUTHENTICATED/REFRESH_TOKEN_REUSED');
  }

  afterEach(async () => {
    if (await cluster?.accepting()) await removeTrigger();
  });

  it('when a statement after the consume fails', async () => {
    const user = await signUp(app);
    await failNextTokenInsertWith(`raise exception 'injected failure'`);
    const failed = await post(app, REFRESH, { t: user.refreshToken });
    expect(outcome(failed)).toBe('INTERNAL_SERVER_ERROR');
    expect(failed.errors?.[0]?.message).toBe('Internal server error');
    expect(failed.text).not.toMatch(DRIVER_TEXT);

    await removeTrigger();
    await expectUsableOnce(user.refreshToken);
  });

  it('when the connection dies after the consume, more times than the pool has connections', async () => {
    const user = await signUp(app);
    // The backend ends its own session inside the transaction: the ROLLBACK cannot run either.
    await failNextTokenInsertWith(`perform pg_terminate_backend(pg_backend_pid()); perform pg_sleep(10)`);
    const poolSize = must(app.app.orm.config.get('pool').max, 'the pool size');
    expect(poolSize).toBeGreaterThan(0);
    for (let attempt = 0; attempt <= poolSize; attempt += 1) {
      expectUnavailable(await post(app, REFRESH, { t: user.refreshToken }));
    }

    // No pooled connection was lost with those transactions: the service answers at once.
    await removeTrigger();
    expect(outcome(await post(app, ME, {}, { token: user.accessToken }))).toBe('ok');
    await expectUsableOnce(user.refreshToken);
  });

  it('when PostgreSQL stops after the consume, before the commit', async () => {
    const user = await signUp(app);
    await failNextTokenInsertWith(`perform pg_sleep(60)`);
    const refreshing = post(app, REFRESH, { t: user.refreshToken });
    // The refresh's transaction has run its UPDATE and sits in the insert of the next token.
    await until(
      'the refresh waits inside its transaction',
      async () =>
        (await pg().query(`select 1 from pg_stat_activity where datname = '${DATABASE}' and wait_event = 'PgSleep'`)).length === 1,
      ANSWER_WITHIN_MS,
    );
    await pg().stop('immediate');
    expectUnavailable(await refreshing);

    await pg().start();
    await until('/readyz answers 200', async () => (await status(app, '/readyz')) === 200);
    await removeTrigger();
    await expectUsableOnce(user.refreshToken);
  });
});
