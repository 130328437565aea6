// Two instances on one database, one with compiled queries (GRAPHQL_JIT on) and one without: the same
// request with the same token must get the same bytes from both, with data and errors, also when the
// database goes away under a compiled query (an unexpected error: masked the same way, and logged once
// with the request id). A private PostgreSQL cluster, whichever database the suite runs on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { Role, signUp, userWithRole, type SignedIn } from '../helpers/factories';
import { logEntriesOf, postRaw, type RawReply } from '../helpers/graphql';
import { must } from '../helpers/must';
import { createPgCluster, type PgCluster } from '../helpers/pg-cluster';

const COMPILED = 'graphql operation ran compiled';
const DATABASE = 'auth_api';

let cluster: PgCluster | undefined;
let compiled: TestApp;
let executed: TestApp;
const dataDirs: string[] = [];
const logLines: string[] = [];
let user: SignedIn;
let moderator: SignedIn;

beforeAll(async () => {
  cluster = await createPgCluster();
  await cluster.query(`create database ${DATABASE}`);
  const databaseUrl = cluster.urlOf(DATABASE);
  const start = async (env: Record<string, string>): Promise<TestApp> => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-jit-'));
    dataDirs.push(dataDir);
    return startTestApp({ database: { dataDir, databaseUrl }, logLines, env: { LOG_LEVEL: 'trace', ...env } });
  };
  // One after the other: the first applies the migrations.
  compiled = await start({});
  executed = await start({ GRAPHQL_JIT: 'false' });
  user = await signUp(compiled, { name: 'Shared User' });
  moderator = await userWithRole(compiled, Role.MODERATOR);
}, 90_000);

afterAll(async () => {
  try {
    await stopApps(compiled, executed);
  } finally {
    await cluster?.destroy();
    for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

function post(app: TestApp, query: string, token?: string, variables?: Record<string, unknown>): Promise<RawReply> {
  return postRaw(app, { query, variables }, { token, signal: AbortSignal.timeout(20_000) });
}

function logged(requestId: string): string[] {
  return logEntriesOf(logLines, requestId).map((entry) => entry.msg ?? '');
}

/** Runs a query three times on the compiled instance (the last two compiled) and once on the other. */
async function bothWays(query: string, token?: string, variables?: Record<string, unknown>) {
  await post(compiled, query, token, variables);
  await post(compiled, query, token, variables);
  const fast = await post(compiled, query, token, variables);
  expect(logged(fast.requestId)).toContain(COMPILED);
  const slow = await post(executed, query, token, variables);
  expect(logged(slow.requestId)).not.toContain(COMPILED);
  return { fast, slow };
}

describe('the same bytes with and without compiled queries', () => {
  it.each([
    ['a field-level FORBIDDEN with partial data', '{ me { id name email emailVerified isActive lastLoginAt role createdAt } }', () => user],
    ['FORBIDDEN on an operation', '{ users(first: 5) { totalCount } sessions { current } }', () => user],
    [
      'a page of users with nested fields',
      '{ users(first: 5) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name email isActive role } } } }',
      () => moderator,
    ],
    ['a resolver error beside data', '{ me { name } bad: users(first: 1, after: "x") { totalCount } }', () => moderator],
  ])('%s', async (_name, query, viewer) => {
    const { fast, slow } = await bothWays(query, viewer().accessToken);
    expect(fast).toMatchObject({ status: slow.status, text: slow.text });
  });
});

describe('when the database goes away under a compiled query', () => {
  const query = '{ me { id name email } authConfig { passwordMinLength } }';

  beforeAll(async () => {
    await bothWays(query, user.accessToken);
    await must(cluster, 'the private PostgreSQL cluster').stop('fast');
  }, 60_000);

  it('masks the error the same way, keeps the rest of the data, and logs it once with the request id', async () => {
    const fast = await post(compiled, query, user.accessToken);
    const slow = await post(executed, query, user.accessToken);
    expect(logged(fast.requestId)).toContain(COMPILED);
    expect(fast).toMatchObject({ status: slow.status, text: slow.text });
    const body = JSON.parse(fast.text) as { data: Record<string, unknown>; errors: { extensions: { code: string }; path: string[] }[] };
    expect(body.data).toEqual({ me: null, authConfig: { passwordMinLength: expect.any(Number) } });
    expect(body.errors.map((e) => [e.extensions.code, e.path.join('.')])).toEqual([['SERVICE_UNAVAILABLE', 'me']]);
    for (const requestId of [fast.requestId, slow.requestId]) {
      expect(logged(requestId).filter((message) => message === 'request failed')).toHaveLength(1);
    }
  });
});
