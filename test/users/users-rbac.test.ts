import { User } from '../../src/users/user.entity';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, Role, logIn, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';

type Reply = GraphQLResponse<Record<string, any>>;

const ME = `query { me { id name role createdAt email isActive lastLoginAt } }`;
const USERS = `query { users(first: 100) { totalCount edges { node { id name role createdAt email isActive lastLoginAt } } } }`;

let app: TestApp;
let user: SignedIn;
let loggedInUser: SignedIn;
let moderator: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  app = await startTestApp({ env: { RATE_LIMITS: 'off' } });
  user = await signUp(app, { name: 'Plain User' });
  // Signed up, then logged in: has a lastLoginAt for the privileged viewers to see.
  const other = await signUp(app, { name: 'Returning User' });
  loggedInUser = await logIn(app, other.email, PASSWORD);
  moderator = await userWithRole(app, Role.MODERATOR);
  admin = await userWithRole(app, Role.ADMIN);
});
afterAll(async () => {
  await stopApps(app);
});

function as(viewer: SignedIn | undefined, query: string, variables: Record<string, unknown> = {}): Promise<Reply> {
  return gql(app, query, variables, viewer ? { token: viewer.accessToken } : {});
}

function errorPaths(res: Reply): string[] {
  return (res.errors ?? []).map((e) => (e.path ?? []).join('.')).sort();
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('anonymous', () => {
  it('gets UNAUTHENTICATED / TOKEN_MISSING on me', async () => {
    const res = await as(undefined, ME);
    expect(codes(res)).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
    expect(res.errors?.[0]?.path).toEqual(['me']);
    expect(res.data).toEqual({ me: null });
  });

  it('gets UNAUTHENTICATED / TOKEN_MISSING on users, with data.users null', async () => {
    const res = await as(undefined, USERS);
    expect(codes(res)).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
    expect(res.errors?.[0]?.path).toEqual(['users']);
    expect(res.data).toEqual({ users: null });
  });
});

describe('USER', () => {
  it('sees their own email on me, but not isActive or lastLoginAt, and nothing else is lost', async () => {
    const res = await as(user, ME);
    expect(res.data?.['me']).toEqual({
      id: user.id,
      name: 'Plain User',
      role: 'USER',
      createdAt: expect.stringMatching(ISO),
      email: user.email,
      isActive: null,
      lastLoginAt: null,
    });
    expect(codes(res)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(errorPaths(res)).toEqual(['me.isActive', 'me.lastLoginAt']);
  });

  it('sees their own email in the signup and login payloads; isActive and lastLoginAt are nulled alone', async () => {
    const fields = `accessToken refreshToken user { id email role isActive lastLoginAt }`;
    const email = uniqueEmail('payload');
    const signup = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { ${fields} } }`, {
      input: { email, password: PASSWORD, name: 'Payload' },
    });
    const login = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { ${fields} } }`, {
      input: { email, password: PASSWORD },
    });
    for (const [res, operation] of [
      [signup, 'signup'],
      [login, 'login'],
    ] as const) {
      const payload = res.data?.[operation];
      expect(payload.accessToken).toEqual(expect.any(String));
      expect(payload.refreshToken).toEqual(expect.any(String));
      expect(payload.user).toEqual({ id: expect.any(String), email, role: 'USER', isActive: null, lastLoginAt: null });
      expect(codes(res)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
      expect(errorPaths(res)).toEqual([`${operation}.user.isActive`, `${operation}.user.lastLoginAt`]);
    }
  });

  it('gets FORBIDDEN on users; data.users is null and the rest of the query survives', async () => {
    const res = await as(user, `query { me { id email } users { totalCount edges { node { id } } } }`);
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(errorPaths(res)).toEqual(['users']);
    expect(res.data).toEqual({ me: { id: user.id, email: user.email }, users: null });
  });
});

describe.each([
  ['MODERATOR', () => moderator],
  ['ADMIN', () => admin],
])('%s', (role, viewer) => {
  it('sees every field of themself on me', async () => {
    const res = await as(viewer(), ME);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['me']).toEqual({
      id: viewer().id,
      name: `${role} user`,
      role,
      createdAt: expect.stringMatching(ISO),
      email: viewer().email,
      isActive: true,
      lastLoginAt: expect.stringMatching(ISO),
    });
  });

  it('lists users and sees email, isActive and lastLoginAt of every other account', async () => {
    const res = await as(viewer(), USERS);
    expect(res.errors).toBeUndefined();
    const nodes: any[] = res.data?.['users'].edges.map((e: any) => e.node);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    expect(byId.get(user.id)).toEqual({
      id: user.id,
      name: 'Plain User',
      role: 'USER',
      createdAt: expect.stringMatching(ISO),
      email: user.email,
      isActive: true,
      lastLoginAt: null,
    });
    expect(byId.get(loggedInUser.id)).toMatchObject({ email: loggedInUser.email, isActive: true, lastLoginAt: expect.stringMatching(ISO) });
    expect(byId.get(moderator.id)).toMatchObject({ email: moderator.email, role: 'MODERATOR' });
    expect(byId.get(admin.id)).toMatchObject({ email: admin.email, role: 'ADMIN' });
    for (const node of nodes) expect(node.email).toEqual(expect.any(String));
  });

  it('sees isActive false on a disabled account', async () => {
    const disabled = await signUp(app, { name: `Disabled for ${role}` });
    await app.app.orm.em.fork().nativeUpdate(User, { id: disabled.id }, { isActive: false });
    const res = await as(viewer(), USERS);
    const node = res.data?.['users'].edges.find((e: any) => e.node.id === disabled.id)?.node;
    expect(node).toMatchObject({ email: disabled.email, isActive: false });
  });
});

describe('a role change', () => {
  it('takes effect on access tokens already issued, in both directions', async () => {
    const promoted = await signUp(app, { name: 'Promoted' });
    const demoted = await userWithRole(app, Role.ADMIN);
    expect(codes(await as(promoted, USERS))).toEqual(['FORBIDDEN']);
    expect((await as(demoted, USERS)).errors).toBeUndefined();

    const em = app.app.orm.em.fork();
    await em.nativeUpdate(User, { id: promoted.id }, { role: Role.MODERATOR });
    await em.nativeUpdate(User, { id: demoted.id }, { role: Role.USER });

    const promotedRes = await as(promoted, USERS);
    expect(promotedRes.errors).toBeUndefined();
    expect(promotedRes.data?.['users'].totalCount).toBeGreaterThanOrEqual(4);

    const demotedRes = await as(demoted, `query { me { id role isActive } users { totalCount } }`);
    expect(codes(demotedRes)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(errorPaths(demotedRes)).toEqual(['me.isActive', 'users']);
    expect(demotedRes.data).toEqual({ me: { id: demoted.id, role: 'USER', isActive: null }, users: null });
  });
});

describe('signup', () => {
  it('creates a USER and refuses a role smuggled into the input', async () => {
    const email = uniqueEmail('role');
    const smuggled = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email, password: PASSWORD, name: 'Role', role: 'ADMIN' },
    });
    expect(codes(smuggled)).toEqual(['BAD_USER_INPUT']);
    expect(smuggled.data ?? null).toBeNull();
    expect(
      codes(
        await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, { input: { email, password: PASSWORD } }),
      ),
    ).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);

    const res = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email, password: PASSWORD, name: 'Role' },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.['signup'].user.role).toBe('USER');
  });
});
