// The access log as an operator reads it: one line per request with its id, operation, status,
// duration and client address, and never a password, a token or a cookie, wherever the client put them.
import { randomUUID } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { uniqueEmail } from '../helpers/factories';
import { gql } from '../helpers/graphql';
import { must } from '../helpers/must';

const AUTH = `accessToken refreshToken user { id }`;

interface Line {
  msg?: string;
  level?: number;
  requestId?: string;
  method?: string;
  path?: string;
  operation?: string;
  operationName?: string;
  status?: number;
  durationMs?: number;
  clientIp?: string;
  [key: string]: unknown;
}

describe('the access log', () => {
  const logLines: string[] = [];
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOG_LEVEL: 'debug' }, logLines });
  });
  afterAll(() => stopApps(app));

  const parsed = (): Line[] => logLines.map((line) => JSON.parse(line) as Line);
  const linesOf = (requestId: string): Line[] => parsed().filter((line) => line.msg === 'request' && line.requestId === requestId);
  /** The request's line, once written (the client may see the response before it is finished). */
  async function lineOf(requestId: string): Promise<Line> {
    await until(`the access-log line of ${requestId}`, () => Promise.resolve(linesOf(requestId).length > 0));
    expect(linesOf(requestId)).toHaveLength(1);
    return must(linesOf(requestId)[0], 'the line');
  }
  const withId = (): { id: string; headers: Record<string, string> } => {
    const id = `test-${randomUUID()}`;
    return { id, headers: { 'x-request-id': id } };
  };

  it('writes one line per request with its id, operation, status, duration and client address, and no secret', async () => {
    const email = uniqueEmail('logged');
    const password = `pass-${randomUUID()}-phrase`;
    const newPassword = `new-${randomUUID()}-phrase`;

    const signup = withId();
    const signedUp = await gql(
      app,
      `mutation Register($input: SignupInput!) { signup(input: $input) { ${AUTH} } }`,
      { input: { email, password, name: 'Logged' } },
      { headers: signup.headers },
    );
    expect(signedUp.errors).toBeUndefined();

    const cookieLogin = withId();
    const loggedIn = await gql(
      app,
      `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH} } }`,
      { input: { email, password, tokenTransport: 'COOKIE' } },
      { headers: cookieLogin.headers },
    );
    expect(loggedIn.errors).toBeUndefined();
    const setCookie = must(loggedIn.headers.getSetCookie()[0], 'the refresh cookie');
    const cookie = setCookie.split(';')[0] ?? '';
    const refreshToken = cookie.slice(cookie.indexOf('=') + 1);
    const accessToken = loggedIn.data?.['login'].accessToken as string;

    const me = withId();
    expect((await gql(app, 'query Me { me { id } }', {}, { token: accessToken, headers: me.headers })).errors).toBeUndefined();

    const refresh = withId();
    const refreshed = await gql(app, 'mutation { refreshToken { accessToken } }', {}, { headers: { ...refresh.headers, cookie } });
    expect(refreshed.errors).toBeUndefined();

    const change = withId();
    const changed = await gql(
      app,
      `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }`,
      { input: { currentPassword: password, newPassword } },
      { token: refreshed.data?.['refreshToken'].accessToken, headers: change.headers },
    );
    expect(changed.errors).toBeUndefined();

    // A GET carries its operation in the query string: the path is logged, the query string never.
    const get = withId();
    const query = encodeURIComponent(`query { authConfig { passwordMinLength } } # ${password}`);
    const got = await fetch(`${app.url}/graphql?query=${query}`, { headers: { ...get.headers, 'apollo-require-preflight': 'true' } });
    expect(got.status).toBe(200);

    const health = withId();
    expect((await fetch(`${app.url}/healthz`, { headers: health.headers })).status).toBe(200);

    const tooBig = withId();
    const refused = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { ...tooBig.headers, 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ query: '{ me { id } }', variables: { padding: 'x'.repeat(200_000), password } }),
    });
    expect(refused.status).toBe(413);

    const signupLine = await lineOf(signup.id);
    expect(signupLine).toMatchObject({
      method: 'POST',
      path: '/graphql',
      operation: 'signup',
      operationName: 'Register',
      status: 200,
      clientIp: '127.0.0.1',
    });
    expect(signupLine.durationMs).toBeGreaterThan(0);
    expect(await lineOf(cookieLogin.id)).toMatchObject({ operation: 'login', status: 200 });
    expect((await lineOf(cookieLogin.id)).operationName).toBeUndefined();
    expect(await lineOf(me.id)).toMatchObject({ operation: 'me', operationName: 'Me', status: 200 });
    expect(await lineOf(refresh.id)).toMatchObject({ operation: 'refreshToken', status: 200 });
    expect(await lineOf(change.id)).toMatchObject({ operation: 'changePassword', status: 200 });
    expect(await lineOf(get.id)).toMatchObject({ method: 'GET', path: '/graphql', operation: 'authConfig', status: 200 });
    expect(await lineOf(health.id)).toMatchObject({ method: 'GET', path: '/healthz', status: 200, level: 20 });
    expect(await lineOf(tooBig.id)).toMatchObject({ method: 'POST', path: '/graphql', status: 413 });

    const everything = logLines.join('\n');
    for (const secret of [password, newPassword, accessToken, refreshToken, refreshed.data?.['refreshToken'].accessToken as string]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/authorization|set-cookie|"cookie"/i);
  });
});
