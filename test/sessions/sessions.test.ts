import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, logIn, PASSWORD, Role, signUp, userWithRole } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await stopApps(app);
});

const ME = `query { me { id role } }`;
const SESSIONS = `query { sessions { id current userAgent ip createdAt lastUsedAt expiresAt } }`;

describe('sessions of the viewer', () => {
  it('lists live sessions with the current one marked, and logout ends only that one at once', async () => {
    const user = await signUp(app);
    const second = await logIn(app, user.email, user.password);
    const list = await gql(app, SESSIONS, {}, { token: second.accessToken, headers: { 'user-agent': 'jest-agent' } });
    expect(list.errors).toBeUndefined();
    const sessions = list.data?.['sessions'] as { id: string; current: boolean; ip: string | null }[];
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    expect(sessions[0]?.ip).toBe('127.0.0.1');

    const logout = await gql(app, `mutation { logout }`, {}, { token: second.accessToken });
    expect(logout.data).toEqual({ logout: true });
    expect(codes(await gql(app, ME, {}, { token: second.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    const refresh = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: second.refreshToken });
    expect(codes(refresh)).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    // The first session is untouched.
    expect((await gql(app, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, role: 'USER' } });
  });

  it('logoutAll ends every session of the viewer', async () => {
    const user = await signUp(app);
    const second = await logIn(app, user.email, user.password);
    expect((await gql(app, `mutation { logoutAll }`, {}, { token: user.accessToken })).data).toEqual({ logoutAll: true });
    for (const token of [user.accessToken, second.accessToken]) {
      expect(codes(await gql(app, ME, {}, { token }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    }
  });

  it("revokeSession ends one of the viewer's sessions and never another user's", async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    const otherSessions = await gql(app, SESSIONS, {}, { token: other.accessToken });
    const otherSessionId = otherSessions.data?.['sessions'][0].id as string;
    const attempt = await gql(app, `mutation ($id: ID!) { revokeSession(id: $id) }`, { id: otherSessionId }, { token: user.accessToken });
    expect(attempt.data).toEqual({ revokeSession: false });
    expect((await gql(app, ME, {}, { token: other.accessToken })).errors).toBeUndefined();

    const second = await logIn(app, user.email, user.password);
    const mine = await gql(app, SESSIONS, {}, { token: user.accessToken });
    const secondId = (mine.data?.['sessions'] as { id: string; current: boolean }[]).find((s) => !s.current)?.id;
    const revoked = await gql(app, `mutation ($id: ID!) { revokeSession(id: $id) }`, { id: secondId }, { token: user.accessToken });
    expect(revoked.data).toEqual({ revokeSession: true });
    expect(codes(await gql(app, ME, {}, { token: second.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('changePassword ends every other session and returns a fresh pair for the current one', async () => {
    const user = await signUp(app);
    const other = await logIn(app, user.email, user.password);
    const wrong = await gql(
      app,
      `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }`,
      { input: { currentPassword: 'not the password', newPassword: 'a brand new password' } },
      { token: user.accessToken },
    );
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { currentPassword: expect.any(String) } });

    const changed = await gql(
      app,
      `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { ${AUTH_FIELDS} } }`,
      { input: { currentPassword: PASSWORD, newPassword: 'a brand new password' } },
      { token: user.accessToken },
    );
    expect(changed.errors).toBeUndefined();
    const pair = changed.data?.['changePassword'];
    expect(codes(await gql(app, ME, {}, { token: other.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    expect((await gql(app, ME, {}, { token: pair.accessToken })).errors).toBeUndefined();
    expect((await gql(app, ME, {}, { token: user.accessToken })).errors).toBeUndefined();
    const refreshed = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: pair.refreshToken });
    expect(refreshed.errors).toBeUndefined();

    const oldLogin = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, {
      input: { email: user.email, password: PASSWORD },
    });
    expect(codes(oldLogin)).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    await logIn(app, user.email, 'a brand new password');
  });
});

describe('admin operations take effect on tokens issued before', () => {
  it('setUserRole changes what an earlier access token may do on the next request', async () => {
    const admin = await userWithRole(app, Role.ADMIN);
    const user = await signUp(app);
    const USERS = `query { users(first: 1) { totalCount } }`;
    expect(codes(await gql(app, USERS, {}, { token: user.accessToken }))).toEqual(['FORBIDDEN']);
    const set = await gql(
      app,
      `mutation ($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { id role } }`,
      { id: user.id },
      { token: admin.accessToken },
    );
    expect(set.data).toEqual({ setUserRole: { id: user.id, role: 'MODERATOR' } });
    expect((await gql(app, USERS, {}, { token: user.accessToken })).errors).toBeUndefined();
    expect((await gql(app, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, role: 'MODERATOR' } });

    const byModerator = await gql(
      app,
      `mutation ($id: ID!) { setUserRole(userId: $id, role: ADMIN) { id } }`,
      { id: user.id },
      { token: user.accessToken },
    );
    expect(codes(byModerator)).toEqual(['FORBIDDEN']);
    const lookup = await gql(app, `query ($id: ID!) { user(id: $id) { id email } }`, { id: admin.id }, { token: user.accessToken });
    expect(lookup.data).toEqual({ user: { id: admin.id, email: admin.email } });
  });

  it('deactivateUser ends the sessions at once; reactivateUser lets the user log in again', async () => {
    const admin = await userWithRole(app, Role.ADMIN);
    const user = await signUp(app);
    const off = await gql(
      app,
      `mutation ($id: ID!) { deactivateUser(userId: $id) { id isActive } }`,
      { id: user.id },
      { token: admin.accessToken },
    );
    expect(off.data).toEqual({ deactivateUser: { id: user.id, isActive: false } });
    expect(codes(await gql(app, ME, {}, { token: user.accessToken }))[0]).toMatch(/^UNAUTHENTICATED\/(ACCOUNT_DISABLED|TOKEN_REVOKED)$/);
    const login = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, {
      input: { email: user.email, password: user.password },
    });
    expect(codes(login)).toEqual(['UNAUTHENTICATED/ACCOUNT_DISABLED']);

    const on = await gql(
      app,
      `mutation ($id: ID!) { reactivateUser(userId: $id) { id isActive } }`,
      { id: user.id },
      { token: admin.accessToken },
    );
    expect(on.data).toEqual({ reactivateUser: { id: user.id, isActive: true } });
    expect(codes(await gql(app, ME, {}, { token: user.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    await logIn(app, user.email, user.password);
  });

  it('refuses to demote or deactivate the last active ADMIN', async () => {
    const solo = await startTestApp();
    try {
      const admin = await userWithRole(solo, Role.ADMIN);
      const demote = await gql(
        solo,
        `mutation ($id: ID!) { setUserRole(userId: $id, role: USER) { id } }`,
        { id: admin.id },
        { token: admin.accessToken },
      );
      expect(demote.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { role: expect.any(String) } });
      const off = await gql(
        solo,
        `mutation ($id: ID!) { deactivateUser(userId: $id) { id } }`,
        { id: admin.id },
        { token: admin.accessToken },
      );
      expect(off.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { userId: expect.any(String) } });
      expect((await gql(solo, ME, {}, { token: admin.accessToken })).data).toEqual({ me: { id: admin.id, role: 'ADMIN' } });

      // With a second ADMIN, the two demoting each other at once still leave one.
      const second = await userWithRole(solo, Role.ADMIN);
      const [a, b] = await Promise.all([
        gql(solo, `mutation ($id: ID!) { setUserRole(userId: $id, role: USER) { id } }`, { id: second.id }, { token: admin.accessToken }),
        gql(solo, `mutation ($id: ID!) { setUserRole(userId: $id, role: USER) { id } }`, { id: admin.id }, { token: second.accessToken }),
      ]);
      const outcomes = [a, b].map((r) => (r.errors ? r.errors[0]?.extensions?.code : 'ok')).sort();
      expect(outcomes.filter((o) => o === 'ok').length).toBeLessThanOrEqual(1);
      expect(outcomes.every((o) => o === 'ok' || o === 'BAD_USER_INPUT' || o === 'FORBIDDEN' || o === 'UNAUTHENTICATED')).toBe(true);
      const admins = await solo.app.orm.em
        .fork()
        .getConnection()
        .execute<{ n: string }[]>(`select count(*) as n from users where role = 'ADMIN' and is_active`);
      expect(Number(admins[0]?.n)).toBe(1);
    } finally {
      await solo.stop();
    }
  });
});
