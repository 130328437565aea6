import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { logIn, signUp } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';

/**
 * Nothing grows without bound: a user has at most MAX_SESSIONS_PER_USER live sessions (the oldest
 * end first), and ended sessions, with their refresh tokens, are purged on a schedule.
 */

const ME = '{ me { id } }';

async function count(app: TestApp, sql: string, params: unknown[]): Promise<number> {
  const rows = await app.app.orm.em.getConnection().execute<{ n: string }[]>(sql, params, 'all');
  return Number(must(rows[0], 'a count').n);
}

describe('live sessions per user', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { MAX_SESSIONS_PER_USER: '3' } });
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('are capped: a login beyond the cap ends the oldest session', async () => {
    const user = await signUp(app);
    const logins = [];
    for (let i = 0; i < 4; i += 1) logins.push(await logIn(app, user.email, user.password));
    // Five sessions were started (signup + 4 logins); the two oldest ended.
    expect(codes(await gql(app, ME, {}, { token: user.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    expect(codes(await gql(app, ME, {}, { token: must(logins[0], 'the first login').accessToken }))).toEqual([
      'UNAUTHENTICATED/TOKEN_REVOKED',
    ]);
    for (const login of logins.slice(1)) expect(codes(await gql(app, ME, {}, { token: login.accessToken }))).toEqual([]);
    const sessions = await gql(app, '{ sessions { id } }', {}, { token: must(logins[3], 'the last login').accessToken });
    expect(sessions.data?.['sessions']).toHaveLength(3);
  });
});

describe('ended sessions', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { SESSION_PURGE_INTERVAL: '1s', SESSION_RETENTION: '0s' } });
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('are purged with their refresh tokens on a schedule; live ones stay', async () => {
    const user = await signUp(app);
    const ended = await logIn(app, user.email, user.password);
    await gql(app, 'mutation ($t: String!) { refreshToken(token: $t) { accessToken } }', { t: ended.refreshToken });
    expect(codes(await gql(app, 'mutation { logout }', {}, { token: ended.accessToken }))).toEqual([]);

    const sessionsOf = (): Promise<number> => count(app, 'select count(*) as n from sessions where user_id = ?', [user.id]);
    await until('the ended session to be purged', async () => (await sessionsOf()) === 1);
    expect(
      await count(app, 'select count(*) as n from refresh_tokens t join sessions s on s.id = t.session_id where s.user_id = ?', [user.id]),
    ).toBe(1);
    expect(codes(await gql(app, ME, {}, { token: user.accessToken }))).toEqual([]);
  });
});
