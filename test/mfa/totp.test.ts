import { Secret, TOTP } from 'otpauth';
import { AuditEvent } from '../../src/audit/audit-event.entity';
import { MfaChallenge, RecoveryCode, TotpCredential } from '../../src/mfa/mfa.entities';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, Role, signUp, userWithRole, type SignedIn } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';
import { mustBeString } from '../helpers/must';

const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const VERIFY = `mutation ($input: VerifyMfaInput!) { verifyMfa(input: $input) { ${AUTH_FIELDS} } }`;
const ENROLL = `mutation { enrollTotp { secret otpauthUri } }`;
const CONFIRM = `mutation ($code: String!) { confirmTotp(code: $code) }`;
const DISABLE = `mutation ($code: String!) { disableTotp(code: $code) }`;
const REGENERATE = `mutation ($code: String!) { regenerateRecoveryCodes(code: $code) }`;
const STEP_MS = 30_000;

/** A code of the authenticator `steps` time steps from `at` (now), as RFC 6238 and the enrolment URI say. */
function codeAt(secret: string, steps = 0, at = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
    timestamp: at + steps * STEP_MS,
  });
}

function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(mustBeString(accessToken.split('.')[1], 'JWT payload'), 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

function login(app: TestApp, email: string, password = PASSWORD): Promise<GraphQLResponse> {
  return gql(app, LOGIN, { input: { email, password } });
}

function mfaTokenOf(response: GraphQLResponse): string {
  expect(codes(response)).toEqual(['UNAUTHENTICATED/MFA_REQUIRED']);
  expect(response.data).toBeNull();
  return mustBeString(response.errors?.[0]?.extensions?.['mfaToken'], 'extensions.mfaToken');
}

interface Enrolled {
  readonly user: SignedIn;
  readonly secret: string;
  /** The code that confirmed the enrolment (used up). */
  readonly confirmedWith: string;
  readonly recoveryCodes: string[];
}

describe('TOTP second factor', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await stopApps(app);
  });

  /** A user with TOTP confirmed with the current code: the next code accepted is the next step's. */
  async function enrolled(): Promise<Enrolled> {
    const user = await signUp(app);
    const enrollment = await gql(app, ENROLL, {}, { token: user.accessToken });
    const secret = mustBeString(enrollment.data?.['enrollTotp']?.secret, 'secret');
    const confirmedWith = codeAt(secret);
    const confirmed = await gql(app, CONFIRM, { code: confirmedWith }, { token: user.accessToken });
    expect(confirmed.errors).toBeUndefined();
    return { user, secret, confirmedWith, recoveryCodes: confirmed.data?.['confirmTotp'] as string[] };
  }

  it('enrols with an otpauth URI, stays off until a code confirms it, then returns ten recovery codes once', async () => {
    const user = await signUp(app);
    const enrollment = await gql(app, ENROLL, {}, { token: user.accessToken });
    expect(enrollment.errors).toBeUndefined();
    const { secret, otpauthUri } = enrollment.data?.['enrollTotp'] as { secret: string; otpauthUri: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/graphql-auth-api:${user.email}`);
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({
      secret,
      issuer: 'graphql-auth-api',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });

    // Not active yet: the password alone still signs in.
    expect((await login(app, user.email)).errors).toBeUndefined();
    expect((await gql(app, `{ me { mfaEnabled } }`, {}, { token: user.accessToken })).data).toEqual({ me: { mfaEnabled: false } });

    const wrong = await gql(app, CONFIRM, { code: codeAt(secret, 3) }, { token: user.accessToken });
    expect(codes(wrong)).toEqual(['BAD_USER_INPUT']);
    expect(wrong.errors?.[0]?.extensions?.fields).toHaveProperty('code');

    const confirmed = await gql(app, CONFIRM, { code: codeAt(secret) }, { token: user.accessToken });
    expect(confirmed.errors).toBeUndefined();
    const recoveryCodes = confirmed.data?.['confirmTotp'] as string[];
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect((await gql(app, `{ me { mfaEnabled } }`, {}, { token: user.accessToken })).data).toEqual({ me: { mfaEnabled: true } });

    // Active: a second enrolment is refused until TOTP is disabled.
    expect(codes(await gql(app, ENROLL, {}, { token: user.accessToken }))).toEqual(['BAD_USER_INPUT']);
  });

  it('keeps the seed encrypted and the recovery codes hashed at rest', async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const em = app.app.orm.em.fork();
    const stored = await em.findOneOrFail(TotpCredential, { user: user.id });
    expect(stored.secret).not.toContain(secret);
    expect(stored.secret).toMatch(/^v1\./);
    const hashes = (await em.find(RecoveryCode, { user: user.id })).map((row) => row.codeHash);
    expect(hashes).toHaveLength(10);
    const all = JSON.stringify(hashes);
    for (const code of recoveryCodes) {
      expect(all).not.toContain(code);
      expect(all).not.toContain(code.replace('-', ''));
    }
  });

  it('asks for the second factor after the right password only, and verifyMfa gives the session with amr pwd,otp,mfa', async () => {
    const { user, secret } = await enrolled();
    // A wrong password says nothing about the second factor.
    const wrongPassword = await login(app, user.email, 'not the password');
    expect(codes(wrongPassword)).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    expect(wrongPassword.errors?.[0]?.extensions).not.toHaveProperty('mfaToken');

    const mfaToken = mfaTokenOf(await login(app, user.email));
    const wrongCode = await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, 3) } });
    expect(codes(wrongCode)).toEqual(['UNAUTHENTICATED/INVALID_MFA_CODE']);

    const verified = await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, 1) } });
    expect(verified.errors).toBeUndefined();
    const payload = verified.data?.['verifyMfa'] as { accessToken: string; refreshToken: string; user: { id: string } };
    expect(payload.user.id).toBe(user.id);
    expect(claimsOf(payload.accessToken)['amr']).toEqual(['pwd', 'otp', 'mfa']);
    expect(claimsOf(user.accessToken)['amr']).toEqual(['pwd']);
    expect((await gql(app, `{ me { id } }`, {}, { token: payload.accessToken })).data).toEqual({ me: { id: user.id } });
    // The session refreshes like any other and keeps its amr.
    const refreshed = await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: payload.refreshToken });
    expect(claimsOf(mustBeString(refreshed.data?.['refreshToken']?.accessToken, 'access token'))['amr']).toEqual(['pwd', 'otp', 'mfa']);

    // The challenge was single use.
    expect(codes(await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, 1) } }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });

  it('accepts each code once, one step of drift either way, and nothing further off', async () => {
    // The code that confirmed the enrolment is used up, even when its time step has just ended.
    const { user, secret, confirmedWith } = await enrolled();
    expect(codes(await gql(app, VERIFY, { input: { mfaToken: mfaTokenOf(await login(app, user.email)), code: confirmedWith } }))).toEqual([
      'UNAUTHENTICATED/INVALID_MFA_CODE',
    ]);
    for (const steps of [3, -3]) {
      const mfaToken = mfaTokenOf(await login(app, user.email));
      expect(codes(await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, steps) } }))).toEqual([
        'UNAUTHENTICATED/INVALID_MFA_CODE',
      ]);
    }
    const next = codeAt(secret, 1);
    expect((await gql(app, VERIFY, { input: { mfaToken: mfaTokenOf(await login(app, user.email)), code: next } })).errors).toBeUndefined();
    // Replayed in another login: refused.
    expect(codes(await gql(app, VERIFY, { input: { mfaToken: mfaTokenOf(await login(app, user.email)), code: next } }))).toEqual([
      'UNAUTHENTICATED/INVALID_MFA_CODE',
    ]);
  });

  it('accepts each recovery code once, in any case and with spaces', async () => {
    const { user, recoveryCodes } = await enrolled();
    const [first = '', second = ''] = recoveryCodes;
    const typed = ` ${first.toUpperCase().replace('-', ' ')} `;
    const verified = await gql(app, VERIFY, { input: { mfaToken: mfaTokenOf(await login(app, user.email)), code: typed } });
    expect(verified.errors).toBeUndefined();
    expect(claimsOf(mustBeString(verified.data?.['verifyMfa']?.accessToken, 'access token'))['amr']).toEqual(['pwd', 'otp', 'mfa']);
    expect(codes(await gql(app, VERIFY, { input: { mfaToken: mfaTokenOf(await login(app, user.email)), code: first } }))).toEqual([
      'UNAUTHENTICATED/INVALID_MFA_CODE',
    ]);
    // Another user's code is no code of this account.
    const other = await enrolled();
    expect(codes(await gql(app, VERIFY, { input: { mfaToken: mfaTokenOf(await login(app, other.user.email)), code: second } }))).toEqual([
      'UNAUTHENTICATED/INVALID_MFA_CODE',
    ]);
    expect(
      (await gql(app, VERIFY, { input: { mfaToken: mfaTokenOf(await login(app, user.email)), code: second } })).errors,
    ).toBeUndefined();
  });

  it('never takes an mfaToken for an access or refresh token, nor the reverse', async () => {
    const { user } = await enrolled();
    const mfaToken = mfaTokenOf(await login(app, user.email));
    expect(codes(await gql(app, `{ me { id } }`, {}, { token: mfaToken }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    expect(codes(await gql(app, `mutation ($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: mfaToken }))).toEqual([
      'UNAUTHENTICATED/TOKEN_INVALID',
    ]);
    for (const token of [user.accessToken, user.refreshToken, `${user.id}.${'A'.repeat(43)}`, `${'-'.repeat(36)}.${'A'.repeat(43)}`]) {
      expect(codes(await gql(app, VERIFY, { input: { mfaToken: token, code: '123456' } }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    }
  });

  it('ends a challenge after five wrong codes, and refuses an expired one', async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const mfaToken = mfaTokenOf(await login(app, user.email));
    for (let i = 0; i < 5; i++) {
      expect(codes(await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, 3) } }))).toEqual(['UNAUTHENTICATED/INVALID_MFA_CODE']);
    }
    expect(codes(await gql(app, VERIFY, { input: { mfaToken, code: recoveryCodes[0] } }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);

    const late = mfaTokenOf(await login(app, user.email));
    await app.app.orm.em.fork().nativeUpdate(MfaChallenge, { user: user.id, usedAt: null }, { expiresAt: new Date(Date.now() - 1000) });
    expect(codes(await gql(app, VERIFY, { input: { mfaToken: late, code: recoveryCodes[0] } }))).toEqual(['UNAUTHENTICATED/TOKEN_EXPIRED']);
  });

  it('ends pending challenges when the password changes', async () => {
    const { user, recoveryCodes } = await enrolled();
    const mfaToken = mfaTokenOf(await login(app, user.email));
    const changed = await gql(
      app,
      `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }`,
      { input: { currentPassword: PASSWORD, newPassword: 'another fine passphrase' } },
      { token: user.accessToken },
    );
    expect(changed.errors).toBeUndefined();
    expect(codes(await gql(app, VERIFY, { input: { mfaToken, code: recoveryCodes[0] } }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });

  it('answers verifyMfa in cookie mode when the login asked for it', async () => {
    const { user, secret } = await enrolled();
    const response = await gql(app, LOGIN, { input: { email: user.email, password: PASSWORD, tokenTransport: 'COOKIE' } });
    const mfaToken = mfaTokenOf(response);
    const verified = await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, 1) } });
    expect(verified.errors).toBeUndefined();
    expect(verified.data?.['verifyMfa']?.refreshToken).toBeNull();
    expect(verified.headers.get('set-cookie')).toMatch(/refresh_token=/);
  });

  it('disables TOTP and regenerates recovery codes only with a valid code', async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const asUser = { token: user.accessToken };
    const [first = '', second = ''] = recoveryCodes;

    expect(codes(await gql(app, REGENERATE, { code: codeAt(secret, 3) }, asUser))).toEqual(['BAD_USER_INPUT']);
    const regenerated = await gql(app, REGENERATE, { code: first }, asUser);
    expect(regenerated.errors).toBeUndefined();
    const fresh = regenerated.data?.['regenerateRecoveryCodes'] as string[];
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(second);
    // The earlier codes stopped working.
    expect(codes(await gql(app, DISABLE, { code: second }, asUser))).toEqual(['BAD_USER_INPUT']);

    expect(codes(await gql(app, DISABLE, { code: '000000' }, asUser))).toEqual(['BAD_USER_INPUT']);
    expect((await gql(app, DISABLE, { code: codeAt(secret, 1) }, asUser)).data).toEqual({ disableTotp: true });
    expect((await gql(app, `{ me { mfaEnabled } }`, {}, asUser)).data).toEqual({ me: { mfaEnabled: false } });
    expect((await login(app, user.email)).errors).toBeUndefined();
    expect(codes(await gql(app, DISABLE, { code: fresh[0] }, asUser))).toEqual(['BAD_USER_INPUT']);
    expect(await app.app.orm.em.fork().count(RecoveryCode, { user: user.id })).toBe(0);
  });

  it('lets an ADMIN, and only an ADMIN, remove a user’s second factors', async () => {
    const { user } = await enrolled();
    const admin = await userWithRole(app, Role.ADMIN);
    const moderator = await userWithRole(app, Role.MODERATOR);
    const RESET = `mutation ($id: ID!) { resetUserMfa(userId: $id) { id mfaEnabled } }`;
    expect(codes(await gql(app, RESET, { id: user.id }, { token: moderator.accessToken }))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(app, RESET, { id: user.id }, { token: user.accessToken }))).toEqual(['FORBIDDEN']);
    expect((await gql(app, RESET, { id: user.id }, { token: admin.accessToken })).data).toEqual({
      resetUserMfa: { id: user.id, mfaEnabled: false },
    });
    expect((await login(app, user.email)).errors).toBeUndefined();
  });

  it('records enrolment, second-factor failures and successes, and removal in the audit log', async () => {
    const { user, secret } = await enrolled();
    const mfaToken = mfaTokenOf(await login(app, user.email));
    await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, 3) } });
    await gql(app, VERIFY, { input: { mfaToken, code: codeAt(secret, 1) } });
    await gql(app, DISABLE, { code: codeAt(secret, -1) }, { token: user.accessToken }); // already used up: refused
    const events = await app.app.orm.em.fork().find(AuditEvent, { subjectId: user.id }, { orderBy: { id: 'asc' } });
    expect(events.map((e) => e.type)).toEqual([
      'SIGNUP',
      'VERIFICATION_EMAIL_SENT',
      'MFA_ENABLED',
      'MFA_FAILED',
      'MFA_SUCCEEDED',
      'LOGIN_SUCCEEDED',
      'MFA_FAILED',
    ]);
    const all = JSON.stringify(events);
    expect(all).not.toContain(mfaToken);
    expect(all).not.toContain(secret);
  });
});

describe('second-factor guesses are rate limited per account (mfa:account=5/15m)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { RATE_LIMITS: '' } });
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('refuses the sixth code for one account, across challenges, even a right one', async () => {
    const user = await signUp(app);
    const secret = mustBeString((await gql(app, ENROLL, {}, { token: user.accessToken })).data?.['enrollTotp']?.secret, 'secret');
    expect((await gql(app, CONFIRM, { code: codeAt(secret) }, { token: user.accessToken })).errors).toBeUndefined();
    const first = mfaTokenOf(await login(app, user.email));
    for (let i = 0; i < 4; i++) {
      expect(codes(await gql(app, VERIFY, { input: { mfaToken: first, code: codeAt(secret, 3) } }))).toEqual([
        'UNAUTHENTICATED/INVALID_MFA_CODE',
      ]);
    }
    const second = mfaTokenOf(await login(app, user.email));
    expect(codes(await gql(app, VERIFY, { input: { mfaToken: second, code: codeAt(secret, 3) } }))).toEqual([
      'UNAUTHENTICATED/INVALID_MFA_CODE',
    ]);
    const refused = await gql(app, VERIFY, { input: { mfaToken: second, code: codeAt(secret, 1) } });
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    // The sixth was refused unevaluated, right code or not.
    const verified = await app.app.orm.em.fork().count(AuditEvent, { subjectId: user.id, type: 'MFA_SUCCEEDED' as never });
    expect(verified).toBe(0);
  });
});
