import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { User } from '../../src/users/user.entity';
import { startTestApp, stopApps, TEST_ACCESS_SECRET, TEST_REFRESH_SECRET, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, Role, signUp, uniqueEmail, userWithRole } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';

type Reply = GraphQLResponse<Record<string, any>>;

// Rate limits are their own suite; here every attempt must reach the rule under test.
const ENV = { RATE_LIMITS: 'off' };
const ISSUER = 'graphql-auth-api';

const ME = `query { me { id } }`;
const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation ($token: String!) { refreshToken(token: $token) { ${AUTH_FIELDS} } }`;
const USERS = `query ($first: Int, $after: String) { users(first: $first, after: $after) { totalCount edges { node { id } } } }`;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: ENV });
});
afterAll(async () => {
  await stopApps(app);
});

function me(target: TestApp, token?: string, headers?: Record<string, string>): Promise<Reply> {
  return gql(target, ME, {}, { ...(token ? { token } : {}), ...(headers ? { headers } : {}) });
}

function refresh(target: TestApp, token: string): Promise<Reply> {
  return gql(target, REFRESH, { token });
}

function login(target: TestApp, email: string, password: string): Promise<Reply> {
  return gql(target, LOGIN, { input: { email, password } });
}

function claimsOf(token: string): jwt.JwtPayload {
  const claims = jwt.decode(token);
  if (claims === null || typeof claims === 'string') throw new Error('not a JWT');
  return claims;
}

/** An access token made outside the app, as an attacker or a stale client would hold it. */
function forgeAccess(claims: Record<string, unknown>, options: { secret?: string; issuer?: string; audience?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign(
    { role: 'USER', typ: 'access', iat: now, exp: now + 300, jti: randomUUID(), ...claims },
    options.secret ?? TEST_ACCESS_SECRET,
    {
      algorithm: 'HS256',
      issuer: options.issuer ?? ISSUER,
      audience: options.audience ?? ISSUER,
    },
  );
}

/** One error, with exactly this code/reason, on `path`, and that field null. */
function expectFailure(res: Reply, expected: string, path: string): void {
  expect(codes(res)).toEqual([expected]);
  expect(res.errors?.[0]?.path).toEqual([path]);
  expect(res.data?.[path] ?? null).toBeNull();
  expect(res.status).toBe(200);
}

describe('UNAUTHENTICATED / TOKEN_MISSING', () => {
  it('refuses `me` without an Authorization header', async () => {
    const res = await me(app);
    expectFailure(res, 'UNAUTHENTICATED/TOKEN_MISSING', 'me');
    expect(res.data).toEqual({ me: null });
    expect(res.errors?.[0]?.message).toBe('You must be signed in');
  });
});

describe('UNAUTHENTICATED / TOKEN_INVALID', () => {
  let user: Awaited<ReturnType<typeof signUp>>;
  beforeAll(async () => {
    user = await signUp(app);
  });

  it('accepts the genuine access token (the control for the cases below)', async () => {
    const res = await me(app, user.accessToken);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ me: { id: user.id } });
  });

  it.each([
    ['a garbage bearer token', () => 'Bearer garbage'],
    ['three garbage segments', () => 'Bearer aaa.bbb.ccc'],
    ['a valid token without the "Bearer " prefix', () => user.accessToken],
    ['a valid token after another scheme', () => `Basic ${user.accessToken}`],
    ['a bearer with nothing after it', () => 'Bearer '],
    ['a bearer token with a space inside', () => `Bearer ${user.accessToken} extra`],
    ['a token with a tampered payload', () => `Bearer ${tamper(user.accessToken)}`],
    ['the refresh token used as an access token', () => `Bearer ${user.refreshToken}`],
    [
      'a token signed with another secret',
      () => `Bearer ${forgeAccess(liveClaims(), { secret: 'another-secret-0123456789-abcdefghijklmnop' })}`,
    ],
    ['a token signed with the refresh secret', () => `Bearer ${forgeAccess(liveClaims(), { secret: TEST_REFRESH_SECRET })}`],
    ['a token from another issuer', () => `Bearer ${forgeAccess(liveClaims(), { issuer: 'someone-else' })}`],
    ['a token for another audience', () => `Bearer ${forgeAccess(liveClaims(), { audience: 'someone-else' })}`],
    ['an access-secret token typed as a refresh token', () => `Bearer ${forgeAccess({ ...liveClaims(), typ: 'refresh' })}`],
    ['an unsigned token (alg none)', () => `Bearer ${unsigned(liveClaims())}`],
    ['a token naming a session that does not exist', () => `Bearer ${forgeAccess({ ...liveClaims(), sid: randomUUID() })}`],
    ["a token naming another user's session", () => `Bearer ${forgeAccess({ ...liveClaims(), sub: randomUUID() })}`],
  ])('refuses `me` with %s', async (_name, header) => {
    const res = await me(app, undefined, { authorization: header() });
    expectFailure(res, 'UNAUTHENTICATED/TOKEN_INVALID', 'me');
  });

  it('refuses an access token offered as a refresh token', async () => {
    const res = await refresh(app, user.accessToken);
    expectFailure(res, 'UNAUTHENTICATED/TOKEN_INVALID', 'refreshToken');
    expect(res.data).toBeNull();
  });

  function liveClaims(): Record<string, unknown> {
    const { sub, sid } = claimsOf(user.accessToken);
    return { sub, sid };
  }
});

function tamper(token: string): string {
  const [header, , signature] = token.split('.');
  const payload = { ...claimsOf(token), role: 'ADMIN' };
  return [header, Buffer.from(JSON.stringify(payload)).toString('base64url'), signature].join('.');
}

function unsigned(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = { role: 'USER', typ: 'access', iat: now, exp: now + 300, jti: randomUUID(), iss: ISSUER, aud: ISSUER, ...claims };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

describe('UNAUTHENTICATED / TOKEN_EXPIRED', () => {
  it('refuses an access token of a live session once its exp has passed', async () => {
    const user = await signUp(app);
    const { sub, sid } = claimsOf(user.accessToken);
    const now = Math.floor(Date.now() / 1000);

    // The same forgery with a future exp is accepted, so only the expiry can explain the refusal.
    const fresh = forgeAccess({ sub, sid, iat: now - 60, exp: now + 60 });
    expect((await me(app, fresh)).data).toEqual({ me: { id: user.id } });

    const expired = forgeAccess({ sub, sid, iat: now - 120, exp: now - 60 });
    const res = await me(app, expired);
    expectFailure(res, 'UNAUTHENTICATED/TOKEN_EXPIRED', 'me');
  });
});

describe('UNAUTHENTICATED / TOKEN_REVOKED', () => {
  it('refuses the access and refresh tokens of a revoked session at once, and only those', async () => {
    const user = await signUp(app);
    const other = await login(app, user.email, PASSWORD);
    const otherAccess = other.data?.['login'].accessToken as string;
    expect((await me(app, user.accessToken)).data).toEqual({ me: { id: user.id } });

    const sid = claimsOf(user.accessToken)['sid'] as string;
    expect(await app.app.services.sessions.revoke(app.app.orm.em.fork(), sid)).toBe(true);

    expectFailure(await me(app, user.accessToken), 'UNAUTHENTICATED/TOKEN_REVOKED', 'me');
    expectFailure(await refresh(app, user.refreshToken), 'UNAUTHENTICATED/TOKEN_REVOKED', 'refreshToken');
    // The user's other session is a different login and lives on.
    expect((await me(app, otherAccess)).data).toEqual({ me: { id: user.id } });
  });
});

describe('UNAUTHENTICATED / INVALID_CREDENTIALS', () => {
  it('answers an unknown email and a wrong password with exactly the same error', async () => {
    const user = await signUp(app);
    const wrongPassword = await login(app, user.email, 'not the password');
    const unknownEmail = await login(app, uniqueEmail('nobody'), 'not the password');
    const unknownEmailRightPassword = await login(app, uniqueEmail('nobody'), PASSWORD);

    expectFailure(wrongPassword, 'UNAUTHENTICATED/INVALID_CREDENTIALS', 'login');
    expect(wrongPassword.data).toBeNull();
    expect(wrongPassword.errors?.[0]?.message).toBe('Invalid email or password');
    expect(unknownEmail.errors).toEqual(wrongPassword.errors);
    expect(unknownEmail.data).toEqual(wrongPassword.data);
    expect(unknownEmailRightPassword.errors).toEqual(wrongPassword.errors);
    expect(unknownEmail.status).toBe(wrongPassword.status);

    // The right password in another case of the email works: the failures above are about the credentials.
    const ok = await login(app, ` ${user.email.toUpperCase()} `, PASSWORD);
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.['login'].user.id).toBe(user.id);
  });
});

describe('UNAUTHENTICATED / ACCOUNT_DISABLED', () => {
  let user: Awaited<ReturnType<typeof signUp>>;
  beforeAll(async () => {
    user = await signUp(app);
    const updated = await app.app.orm.em.fork().nativeUpdate(User, { id: user.id }, { isActive: false });
    expect(updated).toBe(1);
  });

  it('refuses a login with the right password as ACCOUNT_DISABLED', async () => {
    const res = await login(app, user.email, PASSWORD);
    expectFailure(res, 'UNAUTHENTICATED/ACCOUNT_DISABLED', 'login');
    expect(res.data).toBeNull();
  });

  it('does not reveal the disabled account to a wrong password', async () => {
    const res = await login(app, user.email, 'not the password');
    const unknown = await login(app, uniqueEmail('nobody'), 'not the password');
    expectFailure(res, 'UNAUTHENTICATED/INVALID_CREDENTIALS', 'login');
    expect(res.errors).toEqual(unknown.errors);
  });

  it('stops an access token issued before the account was disabled', async () => {
    expectFailure(await me(app, user.accessToken), 'UNAUTHENTICATED/ACCOUNT_DISABLED', 'me');
  });

  it('refuses to refresh the session of a disabled account', async () => {
    expectFailure(await refresh(app, user.refreshToken), 'UNAUTHENTICATED/ACCOUNT_DISABLED', 'refreshToken');
  });
});

describe('UNAUTHENTICATED / REFRESH_TOKEN_REUSED', () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await startTestApp({ env: { ...ENV, REFRESH_REUSE_GRACE: '0s' } });
  });
  afterAll(async () => {
    await stopApps(strict);
  });

  it('without a grace, a replayed refresh token ends the whole session', async () => {
    const user = await signUp(strict);
    const bystander = await login(strict, user.email, PASSWORD);
    const first = await refresh(strict, user.refreshToken);
    expect(first.errors).toBeUndefined();
    const rotated = first.data?.['refreshToken'];

    const replay = await refresh(strict, user.refreshToken);
    expectFailure(replay, 'UNAUTHENTICATED/REFRESH_TOKEN_REUSED', 'refreshToken');
    expect(replay.data).toBeNull();

    // Every token descended from that login is dead: the newer refresh token and both access tokens.
    expectFailure(await refresh(strict, rotated.refreshToken), 'UNAUTHENTICATED/TOKEN_REVOKED', 'refreshToken');
    expectFailure(await me(strict, rotated.accessToken), 'UNAUTHENTICATED/TOKEN_REVOKED', 'me');
    expectFailure(await me(strict, user.accessToken), 'UNAUTHENTICATED/TOKEN_REVOKED', 'me');
    // Another login of the same user is another family and lives on.
    expect((await me(strict, bystander.data?.['login'].accessToken)).data).toEqual({ me: { id: user.id } });
  });

  it('within the default 10 s grace, a replay of the token just rotated succeeds (two tabs racing), without forking the session', async () => {
    const user = await signUp(app);
    const first = await refresh(app, user.refreshToken);
    expect(first.errors).toBeUndefined();
    const tabA = first.data?.['refreshToken'];

    const replay = await refresh(app, user.refreshToken);
    expect(replay.errors).toBeUndefined();
    const tabB = replay.data?.['refreshToken'];
    expect(tabB.refreshToken).not.toBe(tabA.refreshToken);
    expect(tabB.user.id).toBe(user.id);

    // One session, one live refresh token: both access tokens work, and the pair answered last
    // (tab B's) carries the session on; tab A's refresh token was retired by the replay.
    expect((await me(app, tabA.accessToken)).data).toEqual({ me: { id: user.id } });
    expect((await me(app, tabB.accessToken)).data).toEqual({ me: { id: user.id } });
    expect((await refresh(app, tabB.refreshToken)).errors).toBeUndefined();
  });
});

describe('FORBIDDEN', () => {
  it('refuses `users` to a USER, nulling only that field', async () => {
    const user = await signUp(app);
    const res = await gql(app, `query { me { id } users { totalCount } }`, {}, { token: user.accessToken });
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(res.errors?.[0]?.extensions?.reason).toBeUndefined();
    expect(res.errors?.[0]?.path).toEqual(['users']);
    expect(res.data).toEqual({ me: { id: user.id }, users: null });
  });
});

describe('BAD_USER_INPUT on signup', () => {
  function signup(input: Partial<Record<'email' | 'name' | 'password', string>>): Promise<Reply> {
    return gql(app, SIGNUP, { input: { email: uniqueEmail('input'), name: 'Valid Name', password: PASSWORD, ...input } });
  }

  function expectFields(res: Reply, fields: string[]): void {
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.path).toEqual(['signup']);
    expect(Object.keys(res.errors?.[0]?.extensions?.fields ?? {}).sort()).toEqual(fields);
    for (const message of Object.values(res.errors?.[0]?.extensions?.fields ?? {})) expect(message).toEqual(expect.any(String));
    expect(res.data).toBeNull();
  }

  it.each([
    ['an invalid email', { email: 'not-an-email' }, 'email'],
    ['an email without a domain', { email: 'someone@' }, 'email'],
    ['an empty name', { name: '' }, 'name'],
    ['a name of spaces only', { name: '   ' }, 'name'],
    ['a name of 101 characters', { name: 'n'.repeat(101) }, 'name'],
    ['a password of 7 characters', { password: 'p'.repeat(7) }, 'password'],
    // 7 emoji are 14 UTF-16 units: only counting code points refuses them.
    ['a password of 7 emoji', { password: '🔑'.repeat(7) }, 'password'],
  ])('refuses %s on that field', async (_name, input, field) => {
    expectFields(await signup(input), [field]);
  });

  it('reports every offending field at once', async () => {
    expectFields(await signup({ email: 'nope', name: '', password: 'short' }), ['email', 'name', 'password']);
  });

  it.each([
    ['a password of exactly 8 characters', { password: 'p'.repeat(8) }],
    ['a password of 8 emoji (8 code points)', { password: '🔑'.repeat(8) }],
    ['a name of exactly 100 characters', { name: 'n'.repeat(100) }],
    ['a name of 100 emoji (100 code points)', { name: '🙂'.repeat(100) }],
  ])('accepts %s', async (_name, input) => {
    const res = await signup(input);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['signup'].user.role).toBe('USER');
  });

  it('logs in with an 8-emoji password', async () => {
    const email = uniqueEmail('emoji');
    expect((await signup({ email, password: '🔑'.repeat(8) })).errors).toBeUndefined();
    expect((await login(app, email, '🔑'.repeat(8))).errors).toBeUndefined();
    expect(codes(await login(app, email, '🔑'.repeat(7)))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
  });

  it('refuses a taken email, also in another letter case with surrounding spaces', async () => {
    const email = uniqueEmail('taken');
    expect((await signup({ email })).errors).toBeUndefined();
    expectFields(await signup({ email }), ['email']);
    expectFields(await signup({ email: `  ${email.toUpperCase()}  ` }), ['email']);
    const mixed = email.replace(/^./, (c) => c.toUpperCase());
    expectFields(await signup({ email: `\t${mixed} ` }), ['email']);
  });
});

describe('BAD_USER_INPUT on users', () => {
  let admin: Awaited<ReturnType<typeof userWithRole>>;
  beforeAll(async () => {
    admin = await userWithRole(app, Role.ADMIN);
  });

  function users(variables: Record<string, unknown>): Promise<Reply> {
    return gql(app, USERS, variables, { token: admin.accessToken });
  }

  it.each([
    ['first: 101', { first: 101 }, 'first'],
    ['first: 0', { first: 0 }, 'first'],
    ['first: -1', { first: -1 }, 'first'],
    ['a garbage after cursor', { after: 'garbage' }, 'after'],
    ['an after cursor that is not a user id', { after: Buffer.from('not-a-uuid').toString('base64url') }, 'after'],
    ['an overlong after cursor', { after: 'A'.repeat(500) }, 'after'],
  ])('refuses %s on that argument', async (_name, variables, field) => {
    const res = await users(variables);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(Object.keys(res.errors?.[0]?.extensions?.fields ?? {})).toEqual([field]);
    expect(res.errors?.[0]?.path).toEqual(['users']);
    expect(res.data).toEqual({ users: null });
  });

  it('accepts first: 1 and first: 100 (the bounds)', async () => {
    for (const first of [1, 100]) {
      const res = await users({ first });
      expect(res.errors).toBeUndefined();
      expect(res.data?.['users'].edges.length).toBeGreaterThanOrEqual(1);
      expect(res.data?.['users'].edges.length).toBeLessThanOrEqual(first);
    }
  });
});

describe('malformed requests', () => {
  it.each([
    ['a syntax error', `query { me { id }`, {}, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', `query { me { password } }`, {}, 'GRAPHQL_VALIDATION_FAILED'],
    ['a variable of the wrong type', `query ($first: Int) { users(first: $first) { totalCount } }`, { first: 'ten' }, 'BAD_USER_INPUT'],
    [
      'an input field the type does not have',
      `mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }`,
      { input: { email: uniqueEmail('extra'), password: PASSWORD, name: 'Extra', role: 'ADMIN' } },
      'BAD_USER_INPUT',
    ],
  ])('answers %s with its own code, not INTERNAL_SERVER_ERROR', async (_name, query, variables, code) => {
    const res = await gql(app, query, variables);
    expect(codes(res)).toEqual([code]);
    expect(res.errors?.[0]?.message).not.toBe('Internal server error');
    expect(res.status).toBe(400);
  });
});
