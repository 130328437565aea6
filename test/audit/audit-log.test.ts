import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, logIn, PASSWORD, Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';

let app: TestApp;
let admin: SignedIn;
beforeAll(async () => {
  app = await startTestApp();
  admin = await userWithRole(app, Role.ADMIN);
});
afterAll(async () => {
  await stopApps(app);
});

interface Event {
  id: string;
  type: string;
  actorId: string | null;
  subjectId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: string | null;
  createdAt: string;
}
interface Page {
  edges: { cursor: string; node: Event }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const AUDIT_LOG = `query ($first: Int, $after: String, $userId: ID) {
  auditLog(first: $first, after: $after, userId: $userId) {
    edges { cursor node { id type actorId subjectId sessionId ip userAgent detail createdAt } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

async function auditLog(variables: Record<string, unknown>, token = admin.accessToken): Promise<Page> {
  const res = await gql<{ auditLog: Page }>(app, AUDIT_LOG, variables, { token });
  expect(res.errors).toBeUndefined();
  return must(res.data, 'the audit log').auditLog;
}

const AGENT = { 'user-agent': 'audit-test-agent' };

async function tryLogin(email: string, password: string) {
  return gql(
    app,
    `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`,
    { input: { email, password } },
    { headers: AGENT },
  );
}

describe('audit log', () => {
  it('records an account lifecycle with type, actor, subject, session and ip, newest first', async () => {
    const user = await signUp(app);
    expect(codes(await tryLogin(user.email, 'not the password'))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    const login = await tryLogin(user.email, PASSWORD);
    expect(login.errors).toBeUndefined();
    const refreshed = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { ${AUTH_FIELDS} } }`, {
      t: login.data?.['login'].refreshToken,
    });
    expect(refreshed.errors).toBeUndefined();
    const access = refreshed.data?.['refreshToken'].accessToken as string;
    expect((await gql(app, `mutation { logout }`, {}, { token: access })).data).toEqual({ logout: true });

    const asAdmin = { token: admin.accessToken };
    const role = await gql(app, `mutation ($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { role } }`, { id: user.id }, asAdmin);
    expect(role.errors).toBeUndefined();
    expect((await gql(app, `mutation ($id: ID!) { deactivateUser(userId: $id) { id } }`, { id: user.id }, asAdmin)).errors).toBeUndefined();
    expect(codes(await tryLogin(user.email, PASSWORD))).toEqual(['UNAUTHENTICATED/ACCOUNT_DISABLED']);
    expect((await gql(app, `mutation ($id: ID!) { reactivateUser(userId: $id) { id } }`, { id: user.id }, asAdmin)).errors).toBeUndefined();

    const page = await auditLog({ userId: user.id, first: 100 });
    const events = page.edges.map((e) => e.node).reverse();
    expect(events.map((e) => e.type)).toEqual([
      'SIGNUP',
      'VERIFICATION_EMAIL_SENT',
      'LOGIN_FAILED',
      'LOGIN_SUCCEEDED',
      'TOKEN_REFRESHED',
      'LOGOUT',
      'ROLE_CHANGED',
      'USER_DEACTIVATED',
      'LOGIN_FAILED',
      'USER_REACTIVATED',
    ]);
    expect(page.totalCount).toBe(10);
    expect(page.pageInfo.hasNextPage).toBe(false);
    for (const event of events) {
      expect(event.subjectId).toBe(user.id);
      expect(event.ip).toBe('127.0.0.1');
      expect(Number.isNaN(Date.parse(event.createdAt))).toBe(false);
    }
    const [signup, verification, failed, succeeded, refresh, logout, roleChanged, deactivated, disabledLogin, reactivated] =
      events as Event[] & Record<number, Event>;
    expect(signup).toMatchObject({ actorId: user.id, detail: null });
    expect(verification).toMatchObject({ actorId: user.id, sessionId: null });
    expect(failed).toMatchObject({ actorId: null, sessionId: null, userAgent: 'audit-test-agent', detail: 'INVALID_CREDENTIALS' });
    expect(succeeded).toMatchObject({ actorId: user.id, userAgent: 'audit-test-agent' });
    expect(succeeded?.sessionId).toEqual(expect.any(String));
    expect(refresh).toMatchObject({ actorId: user.id, sessionId: succeeded?.sessionId });
    expect(logout).toMatchObject({ actorId: user.id, sessionId: succeeded?.sessionId });
    expect(roleChanged).toMatchObject({ actorId: admin.id, detail: 'USER -> MODERATOR' });
    expect(deactivated).toMatchObject({ actorId: admin.id });
    expect(disabledLogin).toMatchObject({ actorId: null, detail: 'ACCOUNT_DISABLED' });
    expect(reactivated).toMatchObject({ actorId: admin.id });
  });

  it('records a failed login with an unknown email without a subject or the email', async () => {
    const email = uniqueEmail('ghost');
    expect(codes(await tryLogin(email, 'whatever password'))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    const newest = (await auditLog({ first: 1 })).edges[0]?.node;
    expect(newest).toMatchObject({ type: 'LOGIN_FAILED', actorId: null, subjectId: null, detail: 'INVALID_CREDENTIALS' });
    expect(JSON.stringify(newest)).not.toContain(email.split('@')[0]);
  });

  it('records changePassword, revokeSession and logoutAll', async () => {
    const user = await signUp(app);
    const second = await logIn(app, user.email, user.password);
    const sessions = await gql(app, `query { sessions { id current } }`, {}, { token: user.accessToken });
    const secondId = (sessions.data?.['sessions'] as { id: string; current: boolean }[]).find((s) => !s.current)?.id;
    expect(secondId).toBeDefined();
    const revoked = await gql(app, `mutation ($id: ID!) { revokeSession(id: $id) }`, { id: secondId }, { token: user.accessToken });
    expect(revoked.data).toEqual({ revokeSession: true });
    expect(codes(await gql(app, `query { me { id } }`, {}, { token: second.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    const changed = await gql(
      app,
      `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }`,
      { input: { currentPassword: PASSWORD, newPassword: 'a brand new password' } },
      { token: user.accessToken },
    );
    expect(changed.errors).toBeUndefined();
    const token = changed.data?.['changePassword'].accessToken as string;
    expect((await gql(app, `mutation { logoutAll }`, {}, { token })).data).toEqual({ logoutAll: true });

    const events = (await auditLog({ userId: user.id })).edges.map((e) => e.node).reverse();
    expect(events.map((e) => e.type)).toEqual([
      'SIGNUP',
      'VERIFICATION_EMAIL_SENT',
      'LOGIN_SUCCEEDED',
      'SESSION_REVOKED',
      'PASSWORD_CHANGED',
      'LOGOUT',
    ]);
    expect(events[3]).toMatchObject({ actorId: user.id, sessionId: secondId });
    expect(events.every((e) => e.actorId === user.id)).toBe(true);
    const all = JSON.stringify(events);
    for (const secret of [PASSWORD, 'a brand new password', user.accessToken, user.refreshToken, second.refreshToken, token]) {
      expect(all).not.toContain(secret);
    }
  });

  it('never stores a password, a token or an email in any event', async () => {
    const user = await signUp(app);
    await tryLogin(user.email, 'a wrong password attempt');
    const all: Event[] = [];
    let after: string | null = null;
    for (;;) {
      const page: Page = await auditLog({ first: 100, after });
      all.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const text = JSON.stringify(all);
    for (const secret of [PASSWORD, 'a wrong password attempt', user.accessToken, user.refreshToken, user.email, admin.email]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/\$2[aby]\$/); // no bcrypt hash
  });

  it('pages through every event without overlap, newest first, with a stable totalCount', async () => {
    const user = await signUp(app);
    for (let i = 0; i < 4; i++) await tryLogin(user.email, `wrong ${String(i)}`);
    const first = await auditLog({});
    expect(first.totalCount).toBeGreaterThanOrEqual(6);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: Page = await auditLog({ first: 2, after });
      expect(page.totalCount).toBe(first.totalCount);
      expect(page.edges.length).toBeLessThanOrEqual(2);
      seen.push(...page.edges.map((e) => e.node.id));
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor);
      after = page.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(first.totalCount);
    expect(pages).toBe(Math.ceil(first.totalCount / 2));
    expect([...seen].sort().reverse()).toEqual(seen);

    const mine = await auditLog({ userId: user.id, first: 3 });
    expect(mine.totalCount).toBe(6);
    const rest = await auditLog({ userId: user.id, first: 3, after: mine.pageInfo.endCursor });
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect([...mine.edges, ...rest.edges].map((e) => e.node.type).reverse()).toEqual([
      'SIGNUP',
      'VERIFICATION_EMAIL_SENT',
      'LOGIN_FAILED',
      'LOGIN_FAILED',
      'LOGIN_FAILED',
      'LOGIN_FAILED',
    ]);
  });

  it('rejects bad page sizes, cursors and user ids with field errors', async () => {
    const token = admin.accessToken;
    for (const [variables, field] of [
      [{ first: 0 }, 'first'],
      [{ first: 101 }, 'first'],
      [{ after: 'not-a-cursor' }, 'after'],
      [{ after: Buffer.from('x'.repeat(36)).toString('base64url') }, 'after'],
      [{ userId: 'nope' }, 'userId'],
    ] as const) {
      const res = await gql(app, AUDIT_LOG, variables, { token });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { [field]: expect.any(String) } });
      expect(res.data).toEqual({ auditLog: null });
    }
    const unknown = await auditLog({ userId: '00000000-0000-7000-8000-000000000000' });
    expect(unknown).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 });
  });

  it('is for ADMIN only: USER and MODERATOR are FORBIDDEN, anonymous UNAUTHENTICATED', async () => {
    const user = await signUp(app);
    const moderator = await userWithRole(app, Role.MODERATOR);
    for (const token of [user.accessToken, moderator.accessToken]) {
      const res = await gql(app, AUDIT_LOG, {}, { token });
      expect(codes(res)).toEqual(['FORBIDDEN']);
      expect(res.data).toEqual({ auditLog: null });
    }
    expect(codes(await gql(app, AUDIT_LOG, {}))).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
  });
});

describe('audit log: refresh token reuse', () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await startTestApp({ env: { REFRESH_REUSE_GRACE: '0s' } });
  });
  afterAll(async () => {
    await stopApps(strict);
  });

  it('records REFRESH_TOKEN_REUSED with the targeted account and session and no actor', async () => {
    const user = await signUp(strict);
    const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { accessToken } }`;
    expect((await gql(strict, REFRESH, { t: user.refreshToken })).errors).toBeUndefined();
    expect(codes(await gql(strict, REFRESH, { t: user.refreshToken }))).toEqual(['UNAUTHENTICATED/REFRESH_TOKEN_REUSED']);

    const admin2 = await userWithRole(strict, Role.ADMIN);
    const res = await gql<{ auditLog: Page }>(strict, AUDIT_LOG, { userId: user.id }, { token: admin2.accessToken });
    const events = (res.data?.auditLog.edges ?? []).map((e) => e.node).reverse();
    expect(events.map((e) => e.type)).toEqual(['SIGNUP', 'VERIFICATION_EMAIL_SENT', 'TOKEN_REFRESHED', 'REFRESH_TOKEN_REUSED']);
    expect(events[3]).toMatchObject({ actorId: null, subjectId: user.id, sessionId: events[0]?.sessionId, ip: '127.0.0.1' });
    expect(JSON.stringify(events)).not.toContain(user.refreshToken);
  });
});
