import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startTestApp, type TestApp } from '../helpers/app';
import { pollUntil } from '../helpers/eventually';
import { AUTH_FIELDS, logIn, PASSWORD, signUp, uniqueEmail } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';
import { createPgCluster, type PgCluster } from '../helpers/pg-cluster';

/**
 * One mutation, one transaction: every row a mutation writes, its audit event included, commits
 * together or not at all. The fault: the audit table is locked by another session, the mutation's
 * backend waits on it, and that backend is killed, as a crash or a failover would. The client gets
 * SERVICE_UNAVAILABLE, and nothing of the mutation may remain, so a retry behaves as the first try.
 * On a private PostgreSQL cluster (the embedded database has no second session to hold a lock).
 */

const DATABASE = 'auth_api';
const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`;

let cluster: PgCluster;
let app: TestApp;
let dataDir: string;

beforeAll(async () => {
  cluster = await createPgCluster();
  await cluster.query(`create database ${DATABASE}`);
  dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-one-tx-'));
  app = await startTestApp({
    database: { dataDir, databaseUrl: cluster.urlOf(DATABASE) },
    // A replayed refresh token is reuse at once: a token spent by a failed refresh would show.
    env: { REFRESH_REUSE_GRACE: '0s' },
  });
}, 60_000);

afterAll(async () => {
  try {
    await app.stop();
  } finally {
    await cluster.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

async function rows<Row>(sql: string): Promise<Row[]> {
  return cluster.query<Row>(sql, DATABASE);
}

/**
 * Runs `request` while another session holds an exclusive lock on audit_events; once the request's
 * backend waits for that lock, kills the backend, then releases the lock and returns the answer.
 */
async function killedWhileWritingAudit<T>(request: () => Promise<GraphQLResponse<T>>): Promise<GraphQLResponse<T>> {
  const locker = new Client({ connectionString: cluster.urlOf(DATABASE) });
  await locker.connect();
  try {
    await locker.query('begin');
    await locker.query('lock table audit_events in access exclusive mode');
    const answer = request();
    const waiting = await pollUntil('a backend waiting for the audit_events lock', async () => {
      const [row] = await rows<{ pid: number }>(
        `select pid from pg_stat_activity where datname = '${DATABASE}' and wait_event_type = 'Lock' and query ilike '%audit_events%'`,
      );
      return row?.pid;
    });
    await rows(`select pg_terminate_backend(${String(waiting)})`);
    return await answer;
  } finally {
    await locker.query('rollback');
    await locker.end();
  }
}

async function count(sql: string): Promise<number> {
  const [row] = await rows<{ n: string }>(sql);
  return Number(row?.n);
}

describe('a mutation whose audit event cannot be written leaves nothing behind', () => {
  it('signup: no account, and the retry creates it', async () => {
    const email = uniqueEmail('half-signup');
    const input = { email, password: PASSWORD, name: 'Half' };
    const failed = await killedWhileWritingAudit(() => gql(app, SIGNUP, { input }));
    expect(codes(failed)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(await count(`select count(*) as n from users where email = '${email}'`)).toBe(0);

    const retried = await gql(app, SIGNUP, { input });
    expect(retried.errors).toBeUndefined();
    expect(retried.data?.['signup']?.user?.email).toBe(email);
  });

  it('login: no session and no last-login time, and the retry signs in', async () => {
    const user = await signUp(app);
    const sessionsBefore = await count(`select count(*) as n from sessions where user_id = '${user.id}'`);
    const failed = await killedWhileWritingAudit(() => gql(app, LOGIN, { input: { email: user.email, password: user.password } }));
    expect(codes(failed)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(await count(`select count(*) as n from sessions where user_id = '${user.id}'`)).toBe(sessionsBefore);
    expect(await count(`select count(*) as n from users where id = '${user.id}' and last_login_at is not null`)).toBe(0);

    await expect(logIn(app, user.email, user.password)).resolves.toMatchObject({ id: user.id });
  });

  it('refreshToken: the refresh token is not spent, and the retry rotates it', async () => {
    const user = await signUp(app);
    const failed = await killedWhileWritingAudit(() => gql(app, REFRESH, { t: user.refreshToken }));
    expect(codes(failed)).toEqual(['SERVICE_UNAVAILABLE']);

    const retried = await gql(app, REFRESH, { t: user.refreshToken });
    expect(codes(retried)).toEqual([]);
    expect(retried.data?.['refreshToken']?.accessToken).toEqual(expect.any(String));
  });

  it('logout: the session stays live, and the retry ends it', async () => {
    const user = await signUp(app);
    const failed = await killedWhileWritingAudit(() => gql(app, 'mutation { logout }', {}, { token: user.accessToken }));
    expect(codes(failed)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(codes(await gql(app, '{ me { id } }', {}, { token: user.accessToken }))).toEqual([]);

    expect((await gql(app, 'mutation { logout }', {}, { token: user.accessToken })).data?.['logout']).toBe(true);
    expect(codes(await gql(app, '{ me { id } }', {}, { token: user.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('logoutAll and revokeSession: every session stays live', async () => {
    const user = await signUp(app);
    const other = await logIn(app, user.email, user.password);
    const sessions = await gql(app, '{ sessions { id current } }', {}, { token: user.accessToken });
    const otherId = (sessions.data?.['sessions'] as { id: string; current: boolean }[]).find((s) => !s.current)?.id;

    const all = await killedWhileWritingAudit(() => gql(app, 'mutation { logoutAll }', {}, { token: user.accessToken }));
    expect(codes(all)).toEqual(['SERVICE_UNAVAILABLE']);
    const one = await killedWhileWritingAudit(() =>
      gql(app, 'mutation ($id: ID!) { revokeSession(id: $id) }', { id: otherId }, { token: user.accessToken }),
    );
    expect(codes(one)).toEqual(['SERVICE_UNAVAILABLE']);

    expect(codes(await gql(app, '{ me { id } }', {}, { token: user.accessToken }))).toEqual([]);
    expect(codes(await gql(app, '{ me { id } }', {}, { token: other.accessToken }))).toEqual([]);
  });

  it('changePassword: the old password still works and no session ended', async () => {
    const user = await signUp(app);
    const other = await logIn(app, user.email, user.password);
    const failed = await killedWhileWritingAudit(() =>
      gql(
        app,
        'mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }',
        { input: { currentPassword: user.password, newPassword: 'a brand new passphrase' } },
        { token: user.accessToken },
      ),
    );
    expect(codes(failed)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(codes(await gql(app, '{ me { id } }', {}, { token: other.accessToken }))).toEqual([]);
    await expect(logIn(app, user.email, user.password)).resolves.toMatchObject({ id: user.id });
  });
});
