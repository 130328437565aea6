import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, uniqueEmail } from '../helpers/factories';
import { gql } from '../helpers/graphql';
import { must } from '../helpers/must';

/** Starts the app with a trace-level logger whose every line is kept for inspection. */
async function startWithCapturedLogs(): Promise<{ app: TestApp; lines: string[] }> {
  const lines: string[] = [];
  return { app: await startTestApp({ env: { LOG_LEVEL: 'trace' }, logLines: lines }), lines };
}

describe('secrets never reach a response or a log line', () => {
  let app: TestApp;
  let lines: string[];
  beforeAll(async () => {
    ({ app, lines } = await startWithCapturedLogs());
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('keeps passwords, hashes and tokens out of responses and logs, and masks unexpected errors', async () => {
    const email = uniqueEmail('secret');
    const password = 'a-very-distinctive-password-4711';
    const signup = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email, password, name: 'Secret Keeper' },
    });
    expect(signup.errors).toBeUndefined();
    const { accessToken, refreshToken } = must(signup.data, 'the signup result')['signup'];
    const refreshed = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`, {
      t: refreshToken,
    });
    expect(refreshed.errors).toBeUndefined();
    const badLogin = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, {
      input: { email, password: `${password}-wrong` },
    });
    expect(badLogin.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // The stored hash, read straight from the database, must appear nowhere either.
    const [row] = await app.app.orm.em
      .getConnection()
      .execute<{ password_hash: string }[]>(`select password_hash from users where email = ?`, [email]);
    const hash = must(row, 'the account row').password_hash;
    expect(hash.length).toBeGreaterThan(20);

    // An unexpected failure: the database rejects the query (its table is gone).
    await app.app.orm.em.getConnection().execute('alter table "users" rename to "users_gone"');
    const broken = await gql(
      app,
      `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`,
      {
        input: { email, password },
      },
      { headers: { 'x-request-id': 'req-secret-test-1' } },
    );
    expect(broken.errors).toHaveLength(1);
    expect(broken.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(broken.errors)).not.toMatch(/select|sql|users_gone|relation|pglite|postgres|mikro|stack|\bat /i);
    expect(lines.some((line) => line.includes('req-secret-test-1') && line.includes('"level":50'))).toBe(true);

    // A failing insert must not log its parameters (the new account's bcrypt hash).
    const brokenSignup = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }`, {
      input: { email: uniqueEmail('broken'), password: 'another-distinctive-password', name: 'Broken' },
    });
    expect(brokenSignup.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(lines.join('\n')).not.toMatch(/\$2[aby]\$\d\d\$/);

    const responses = JSON.stringify([signup, refreshed, badLogin, broken].map((r) => ({ data: r.data, errors: r.errors })));
    const logs = lines.join('\n');
    for (const secret of [password, hash]) {
      expect(responses).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    for (const token of [accessToken, refreshToken, refreshed.data?.['refreshToken'].refreshToken]) {
      expect(logs).not.toContain(token);
    }
    expect(responses).not.toMatch(/passwordHash|password_hash/);
  });

  it('does not echo a rejected variable (with its password) back to the client', async () => {
    const password = 'echo-me-not-password-9321';
    const res = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }`, {
      input: { email: uniqueEmail('echo'), password, name: 'Echo', role: 'ADMIN' },
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { input: expect.stringContaining('"role"') } });
    expect(JSON.stringify(res.errors)).not.toContain(password);
    const wrongType = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, {
      input: { email: uniqueEmail('echo'), password: 12345678 },
    });
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(wrongType.errors)).not.toContain('12345678');
  });
});
