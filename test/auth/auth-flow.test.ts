import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, signUp, uniqueEmail } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await stopApps(app);
});

const ME = `query { me { id email name role isActive lastLoginAt createdAt } }`;

describe('signup, login, me, refresh', () => {
  it('signs up a USER, trims and lower-cases the email, and returns a token pair', async () => {
    const email = uniqueEmail('Flow');
    const res = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email: `  ${email.toUpperCase()} `, password: PASSWORD, name: '  Ada  ' },
    });
    expect(res.errors).toBeUndefined();
    const payload = res.data?.['signup'];
    expect(payload.user).toMatchObject({ email: email.toLowerCase(), name: 'Ada', role: 'USER' });
    expect(payload.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(payload.refreshToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(new Date(payload.accessTokenExpiresAt).getTime()).toBeGreaterThan(Date.now());
  });

  it('logs in with any case of the email and shows the viewer with me', async () => {
    const user = await signUp(app);
    const login = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email: ` ${user.email.toUpperCase()}`, password: user.password },
    });
    expect(login.errors).toBeUndefined();
    const token = login.data?.['login'].accessToken as string;

    const me = await gql(app, `query { me { id email name role } }`, {}, { token });
    expect(me.errors).toBeUndefined();
    expect(me.data?.['me']).toEqual({ id: user.id, email: user.email, name: 'Test User', role: 'USER' });
  });

  it('hides isActive and lastLoginAt from a USER looking at themself, nulling only those fields', async () => {
    const user = await signUp(app);
    const me = await gql(app, ME, {}, { token: user.accessToken });
    expect(me.data?.['me']).toMatchObject({ id: user.id, email: user.email, isActive: null, lastLoginAt: null });
    expect(codes(me).sort()).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(me.errors?.map((e) => e.path?.join('.')).sort()).toEqual(['me.isActive', 'me.lastLoginAt']);
  });

  it('refreshes into a new pair whose access token works, and the old refresh token is single use', async () => {
    const user = await signUp(app);
    const refresh = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { ${AUTH_FIELDS} } }`, { t: user.refreshToken });
    expect(refresh.errors).toBeUndefined();
    const pair = refresh.data?.['refreshToken'];
    expect(pair.refreshToken).not.toBe(user.refreshToken);
    expect(pair.user.id).toBe(user.id);

    const me = await gql(app, `query { me { id } }`, {}, { token: pair.accessToken });
    expect(me.data?.['me']).toEqual({ id: user.id });

    const next = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`, {
      t: pair.refreshToken,
    });
    expect(next.errors).toBeUndefined();
    expect(next.data?.['refreshToken'].refreshToken).not.toBe(pair.refreshToken);
  });
});
