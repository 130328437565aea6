import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { Client } from 'pg';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { Role, signUp, userWithRole } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { SoftAuthenticator } from '../helpers/webauthn';

// Two instances behind a load balancer share one PostgreSQL database: what one does, the other
// sees on the next request. Always on the server (PGlite belongs to one process).
const SERVER = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`;
const ME = `{ me { id role } }`;

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: SERVER });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('two instances sharing one PostgreSQL database', () => {
  const name = `test_shared_${randomBytes(5).toString('hex')}`;
  const dirs: string[] = [];
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    await admin(`create database "${name}"`);
    const url = new URL(SERVER);
    url.pathname = `/${name}`;
    const start = (): Promise<TestApp> => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-shared-'));
      dirs.push(dataDir);
      return startTestApp({ database: { dataDir, databaseUrl: url.toString() }, env: { REFRESH_REUSE_GRACE: '0s' } });
    };
    a = await start();
    b = await start();
  });
  afterAll(async () => {
    await stopApps(a, b);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await admin(`drop database if exists "${name}" with (force)`);
  });

  it('rotation on one instance and a replay on the other: reuse detected, the session ends everywhere', async () => {
    const user = await signUp(a);
    const rotated = await gql(b, REFRESH, { t: user.refreshToken });
    expect(rotated.errors).toBeUndefined();
    expect(codes(await gql(a, REFRESH, { t: user.refreshToken }))).toEqual(['UNAUTHENTICATED/REFRESH_TOKEN_REUSED']);
    const pair = rotated.data?.['refreshToken'];
    expect(codes(await gql(b, ME, {}, { token: pair.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    expect(codes(await gql(b, REFRESH, { t: pair.refreshToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('logout on one instance ends the access token on the other at once', async () => {
    const user = await signUp(b);
    expect((await gql(a, ME, {}, { token: user.accessToken })).errors).toBeUndefined();
    expect((await gql(a, `mutation { logout }`, {}, { token: user.accessToken })).data).toEqual({ logout: true });
    expect(codes(await gql(b, ME, {}, { token: user.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('a second-factor challenge issued by one instance is redeemed at the other, once', async () => {
    const user = await signUp(a);
    const secret = (await gql(a, 'mutation { enrollTotp { secret } }', {}, { token: user.accessToken })).data?.['enrollTotp']
      .secret as string;
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    const confirm = 'mutation ($code: String!) { confirmTotp(code: $code) }';
    expect((await gql(b, confirm, { code: totp.generate() }, { token: user.accessToken })).errors).toBeUndefined();
    const login = await gql(a, `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, {
      input: { email: user.email, password: user.password },
    });
    expect(codes(login)).toEqual(['UNAUTHENTICATED/MFA_REQUIRED']);
    const input = { mfaToken: login.errors?.[0]?.extensions?.['mfaToken'], code: totp.generate({ timestamp: Date.now() + 30_000 }) };
    const VERIFY = `mutation ($input: VerifyMfaInput!) { verifyMfa(input: $input) { accessToken } }`;
    expect((await gql(b, VERIFY, { input })).errors).toBeUndefined();
    expect(codes(await gql(a, VERIFY, { input }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });

  it('a passkey registered through one instance signs in through the other, each challenge finished where it was not issued', async () => {
    const user = await signUp(a);
    const authenticator = new SoftAuthenticator();
    const options = (await gql(a, 'mutation { startPasskeyRegistration }', {}, { token: user.accessToken })).data?.[
      'startPasskeyRegistration'
    ];
    const FINISH = 'mutation ($r: JSONObject!) { finishPasskeyRegistration(response: $r) { id } }';
    expect((await gql(b, FINISH, { r: authenticator.register(options) }, { token: user.accessToken })).errors).toBeUndefined();
    const login = (await gql(b, 'mutation { startPasskeyLogin }')).data?.['startPasskeyLogin'];
    const response = authenticator.login(login);
    const LOGIN = 'mutation ($r: JSONObject!) { finishPasskeyLogin(response: $r) { user { id } } }';
    expect((await gql(a, LOGIN, { r: response })).data).toEqual({ finishPasskeyLogin: { user: { id: user.id } } });
    expect(codes(await gql(b, LOGIN, { r: response }))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
  });

  it('deactivation and a role change by an ADMIN on one instance apply on the other', async () => {
    const adminUser = await userWithRole(a, Role.ADMIN);
    const user = await signUp(b);
    const promoted = await gql(
      a,
      `mutation ($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { role } }`,
      { id: user.id },
      { token: adminUser.accessToken },
    );
    expect(promoted.data).toEqual({ setUserRole: { role: 'MODERATOR' } });
    expect((await gql(b, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, role: 'MODERATOR' } });
    await gql(b, `mutation ($id: ID!) { deactivateUser(userId: $id) { id } }`, { id: user.id }, { token: adminUser.accessToken });
    expect(codes(await gql(a, ME, {}, { token: user.accessToken }))[0]).toMatch(/^UNAUTHENTICATED\/(ACCOUNT_DISABLED|TOKEN_REVOKED)$/);
  });
});
