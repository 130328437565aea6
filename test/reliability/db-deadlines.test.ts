import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { AUTH_FIELDS, signUp, type SignedIn } from '../helpers/factories';
import { must } from '../helpers/must';
import { pipelinedPosts } from '../helpers/pipelined';
import { createPgCluster, type PgCluster } from '../helpers/pg-cluster';
import { expectUnavailable as expectMasked, outcome, postWithin, statusWithin, type Answer } from '../helpers/outage';

/**
 * Every statement has a deadline (DATABASE_STATEMENT_TIMEOUT): a PostgreSQL server that is frozen
 * (SIGSTOP: connections open, nothing answers) or a table locked by someone else must not hold a
 * request for as long as the server likes. On a private cluster of this test's own, whichever
 * database the suite runs on.
 */

const ME = `{ me { id email } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;

/** The deadline under test, short so that the test is; the default is 5s. */
const STATEMENT_TIMEOUT = '2s';
/** A request that gets no answer within this long counts as hanging (the test fails). */
const ANSWER_WITHIN_MS = 20_000;
/** More requests at once than the pool has connections (10). */
const CONCURRENT = 12;

/** Anything of the driver, the server or the code that a masked error must not carry. */
const DRIVER_TEXT = /ECONN|connect|postgres|pg_|timeout|statement|lock|SQL|select |users|stack|node_modules|:\d+:\d+/i;

const post = (app: TestApp, query: string, variables: Record<string, unknown> = {}, token?: string) =>
  postWithin(ANSWER_WITHIN_MS, app, query, variables, { token });
const status = (app: TestApp, route: string) => statusWithin(ANSWER_WITHIN_MS, app, route);
const expectUnavailable = (answer: Answer) => {
  expectMasked(answer, DRIVER_TEXT);
};

const DATABASE = 'auth_api';

let cluster: PgCluster | undefined;
const pg = (): PgCluster => must(cluster, 'the private PostgreSQL cluster');
let app: TestApp;
let dataDir: string | undefined;

beforeAll(async () => {
  cluster = await createPgCluster();
  await cluster.query(`create database ${DATABASE}`);
  dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-deadlines-'));
  app = await startTestApp({
    database: { dataDir, databaseUrl: cluster.urlOf(DATABASE) },
    env: { DATABASE_STATEMENT_TIMEOUT: STATEMENT_TIMEOUT },
  });
}, 60_000);

afterAll(async () => {
  try {
    await cluster?.thaw();
    await stopApps(app);
  } finally {
    await cluster?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

async function expectWorking(user: SignedIn): Promise<void> {
  expect((await post(app, ME, {}, user.accessToken)).data).toEqual({ me: { id: user.id, email: user.email } });
  expect(outcome(await post(app, LOGIN, { input: { email: user.email, password: user.password } }))).toBe('ok');
}

describe('a frozen PostgreSQL server', () => {
  it('answers SERVICE_UNAVAILABLE within the deadline, /readyz 503, and works again after the thaw', async () => {
    const user = await signUp(app);
    // Fill the pool with open connections, which the freeze then holds.
    const warm = await Promise.all(Array.from({ length: CONCURRENT }, () => post(app, ME, {}, user.accessToken)));
    expect(warm.map(outcome)).toEqual(Array.from({ length: CONCURRENT }, () => 'ok'));
    expect(await status(app, '/readyz')).toBe(200);

    await pg().freeze();
    try {
      const answers = await Promise.all([
        ...Array.from({ length: CONCURRENT }, () => post(app, ME, {}, user.accessToken)),
        post(app, LOGIN, { input: { email: user.email, password: user.password } }),
      ]);
      for (const answer of answers) expectUnavailable(answer);
      expect(await status(app, '/readyz')).toBe(503);
      // Still frozen: the pool is not stuck behind the queries that timed out.
      expectUnavailable(await post(app, ME, {}, user.accessToken));
      expect(await status(app, '/readyz')).toBe(503);
    } finally {
      await pg().thaw();
    }

    await until('/readyz answers 200', async () => (await status(app, '/readyz')) === 200);
    await expectWorking(user);
  }, 120_000);
});

describe('a table locked by another session', () => {
  it('answers SERVICE_UNAVAILABLE instead of waiting for the lock, and works once it is released', async () => {
    const user = await signUp(app);
    const locker = new Client({ connectionString: pg().urlOf(DATABASE) });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table users in access exclusive mode');
      const answers = await Promise.all([
        post(app, ME, {}, user.accessToken),
        post(app, LOGIN, { input: { email: user.email, password: user.password } }),
      ]);
      for (const answer of answers) expectUnavailable(answer);
      await locker.query('rollback');
    } finally {
      await locker.end();
    }
    await expectWorking(user);
  }, 120_000);

  it('answers each of the requests that arrive together SERVICE_UNAVAILABLE, and reads them together again once it is released', async () => {
    const users = await Promise.all([signUp(app), signUp(app), signUp(app)]);
    // The query's text is reused from here on (past Apollo's pipeline): the requests that arrive
    // together then ask for their viewers in the same turn of the event loop, as one batch.
    for (let i = 0; i < 3; i++) expect(outcome(await post(app, ME, {}, users[0].accessToken))).toBe('ok');
    const together = [...users, ...users].map((user) => ({ query: ME, token: user.accessToken }));
    const locker = new Client({ connectionString: pg().urlOf(DATABASE) });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table sessions in access exclusive mode');
      // The batch's one statement waits for the lock until its deadline; every read of the batch
      // fails with it, none waits longer.
      const answers = await pipelinedPosts(app, together, ANSWER_WITHIN_MS);
      for (const answer of answers) expectUnavailable(answer);
      await locker.query('rollback');
    } finally {
      await locker.end();
    }
    const answers = await pipelinedPosts(app, together, ANSWER_WITHIN_MS);
    expect(answers.map((answer) => answer.data)).toEqual([...users, ...users].map((user) => ({ me: { id: user.id, email: user.email } })));
  }, 120_000);
});
