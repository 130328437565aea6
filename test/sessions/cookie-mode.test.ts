import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD, signUp } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';

const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }`;
const REFRESH = `mutation { refreshToken { accessToken refreshToken } }`;

/** The refresh cookie's value and attributes from a response, or undefined. */
function refreshCookie(headers: Headers, name = 'refresh_token'): { value: string; attributes: string[] } | undefined {
  const cookie = headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!cookie) return undefined;
  const [pair, ...attributes] = cookie.split(';').map((s) => s.trim());
  return { value: must(pair, 'the name=value pair').slice(name.length + 1), attributes: attributes.map((a) => a.toLowerCase()) };
}

async function cookieLogin(
  app: TestApp,
  name = 'refresh_token',
): Promise<{ id: string; email: string; cookie: string; accessToken: string }> {
  const user = await signUp(app);
  const res = await gql(app, LOGIN, { input: { email: user.email, password: PASSWORD, tokenTransport: 'COOKIE' } });
  expect(res.errors).toBeUndefined();
  const cookie = must(refreshCookie(res.headers, name), 'the refresh cookie');
  return { id: user.id, email: user.email, cookie: cookie.value, accessToken: res.data?.['login'].accessToken };
}

describe('cookie mode', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('keeps the refresh token out of the body, in an HttpOnly SameSite=Strict cookie scoped to /graphql', async () => {
    const user = await signUp(app);
    const res = await gql(app, LOGIN, { input: { email: user.email, password: PASSWORD, tokenTransport: 'COOKIE' } });
    expect(res.data?.['login'].refreshToken).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookie = refreshCookie(res.headers);
    expect(cookie?.value).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(cookie?.attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/graphql']));
    expect(cookie?.attributes.some((a) => a.startsWith('expires='))).toBe(true);
    expect(cookie?.attributes).not.toContain('secure');
    expect(JSON.stringify(res.data)).not.toContain(cookie?.value);
  });

  it('body mode sets no cookie', async () => {
    const user = await signUp(app);
    const res = await gql(app, LOGIN, { input: { email: user.email, password: PASSWORD } });
    expect(res.data?.['login'].refreshToken).toEqual(expect.any(String));
    expect(refreshCookie(res.headers)).toBeUndefined();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refreshToken without a token rotates the cookie and answers in cookie mode', async () => {
    const { id, cookie } = await cookieLogin(app);
    const res = await gql(app, REFRESH, {}, { headers: { cookie: `refresh_token=${cookie}` } });
    expect(res.errors).toBeUndefined();
    expect(res.data?.['refreshToken'].refreshToken).toBeNull();
    const rotated = refreshCookie(res.headers);
    expect(rotated?.value).toBeDefined();
    expect(rotated?.value).not.toBe(cookie);
    const me = await gql(app, `{ me { id } }`, {}, { token: res.data?.['refreshToken'].accessToken });
    expect(me.data).toEqual({ me: { id } });
  });

  it('without a token or a cookie, refreshToken is UNAUTHENTICATED/TOKEN_MISSING', async () => {
    expect(codes(await gql(app, REFRESH))).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
  });

  it('logout clears the cookie and ends the session', async () => {
    const { cookie, accessToken } = await cookieLogin(app);
    const res = await gql(app, `mutation { logout }`, {}, { token: accessToken, headers: { cookie: `refresh_token=${cookie}` } });
    expect(res.data).toEqual({ logout: true });
    const cleared = refreshCookie(res.headers);
    expect(cleared?.value).toBe('');
    expect(cleared?.attributes.find((a) => a.startsWith('expires='))).toMatch(/1970/);
    expect(codes(await gql(app, REFRESH, {}, { headers: { cookie: `refresh_token=${cookie}` } }))).toEqual([
      'UNAUTHENTICATED/TOKEN_REVOKED',
    ]);
  });

  it('logout with only the refresh cookie (the access token expired or gone) ends that session and clears the cookie', async () => {
    const { cookie, accessToken } = await cookieLogin(app);
    const res = await gql(app, `mutation { logout }`, {}, { headers: { cookie: `refresh_token=${cookie}` } });
    expect(codes(res)).toEqual([]);
    expect(res.data).toEqual({ logout: true });
    expect(refreshCookie(res.headers)?.value).toBe('');
    expect(codes(await gql(app, `{ me { id } }`, {}, { token: accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    expect(codes(await gql(app, REFRESH, {}, { headers: { cookie: `refresh_token=${cookie}` } }))).toEqual([
      'UNAUTHENTICATED/TOKEN_REVOKED',
    ]);
  });

  it('logout with neither an access token nor a refresh cookie is UNAUTHENTICATED/TOKEN_MISSING', async () => {
    expect(codes(await gql(app, `mutation { logout }`))).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
  });

  it('the transport belongs to the session: changePassword of a cookie-mode session never puts the refresh token in the body', async () => {
    const { accessToken } = await cookieLogin(app);
    const res = await gql(
      app,
      'mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken } }',
      { input: { currentPassword: PASSWORD, newPassword: 'another long passphrase' } },
      { token: accessToken },
    );
    expect(codes(res)).toEqual([]);
    expect(res.data?.['changePassword'].refreshToken).toBeNull();
    expect(refreshCookie(res.headers)?.value).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('the transport belongs to the session: a body-mode session refreshed answers in the body', async () => {
    const user = await signUp(app);
    const res = await gql(app, 'mutation ($t: String!) { refreshToken(token: $t) { refreshToken } }', { t: user.refreshToken });
    expect(res.data?.['refreshToken'].refreshToken).toEqual(expect.any(String));
    expect(refreshCookie(res.headers)).toBeUndefined();
  });

  it('refuses requests a browser could send cross-site without a preflight, and they spend nothing', async () => {
    const { cookie } = await cookieLogin(app);
    const body = JSON.stringify({ query: REFRESH });
    const attempts = [
      fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain', cookie: `refresh_token=${cookie}` }, body }),
      fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `refresh_token=${cookie}` },
        body: `query=${encodeURIComponent(REFRESH)}`,
      }),
      fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x', cookie: `refresh_token=${cookie}` },
        body: `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${REFRESH}\r\n--x--\r\n`,
      }),
      fetch(`${app.url}/graphql?query=${encodeURIComponent(REFRESH)}`, { headers: { cookie: `refresh_token=${cookie}` } }),
      fetch(`${app.url}/graphql?query=${encodeURIComponent(REFRESH)}`, {
        headers: { cookie: `refresh_token=${cookie}`, 'apollo-require-preflight': 'true' },
      }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(await response.text()).not.toContain('accessToken":"');
    }
    // The cookie was not consumed: a proper request still refreshes with it.
    const res = await gql(app, REFRESH, {}, { headers: { cookie: `refresh_token=${cookie}` } });
    expect(res.errors).toBeUndefined();
  });
});

describe('cookie mode in production', () => {
  const SECURE_NAME = '__Secure-refresh_token';

  it('names the refresh cookie with the __Secure- prefix and marks it Secure, so a sibling subdomain cannot plant one', async () => {
    const app = await startTestApp({ env: { NODE_ENV: 'production', BCRYPT_COST: '10' } });
    try {
      const user = await signUp(app);
      const res = await gql(app, LOGIN, { input: { email: user.email, password: PASSWORD, tokenTransport: 'COOKIE' } });
      expect(refreshCookie(res.headers)).toBeUndefined();
      const cookie = must(refreshCookie(res.headers, SECURE_NAME), 'the __Secure- cookie');
      expect(cookie.attributes).toContain('secure');

      // A cookie without the prefix (which any subdomain could set) is not read.
      expect(codes(await gql(app, REFRESH, {}, { headers: { cookie: `refresh_token=${cookie.value}` } }))).toEqual([
        'UNAUTHENTICATED/TOKEN_MISSING',
      ]);
      const refreshed = await gql(app, REFRESH, {}, { headers: { cookie: `${SECURE_NAME}=${cookie.value}` } });
      expect(codes(refreshed)).toEqual([]);
      expect(refreshCookie(refreshed.headers, SECURE_NAME)?.value).toEqual(expect.any(String));
    } finally {
      await app.stop();
    }
  });
});
