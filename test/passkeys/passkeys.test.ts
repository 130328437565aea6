import { Secret, TOTP } from 'otpauth';
import { AuditEvent } from '../../src/audit/audit-event.entity';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, Role, signUp, userWithRole, type SignedIn } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must, mustBeString } from '../helpers/must';
import { SoftAuthenticator, type LoginOptions, type RegistrationOptions } from '../helpers/webauthn';

const START_REGISTRATION = `mutation { startPasskeyRegistration }`;
const FINISH_REGISTRATION = `mutation ($response: JSONObject!, $name: String) {
  finishPasskeyRegistration(response: $response, name: $name) { id name createdAt lastUsedAt }
}`;
const START_LOGIN = `mutation { startPasskeyLogin }`;
const FINISH_LOGIN = `mutation ($response: JSONObject!, $t: TokenTransport) { finishPasskeyLogin(response: $response, tokenTransport: $t) { ${AUTH_FIELDS} } }`;
const PASSKEYS = `{ passkeys { id name createdAt lastUsedAt } }`;
const INVALID = 'UNAUTHENTICATED/INVALID_CREDENTIALS';

function claimsOf(accessToken: string): Record<string, unknown> {
  const payload = mustBeString(accessToken.split('.')[1], 'JWT payload');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('passkeys', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await stopApps(app);
  });

  async function registrationOptions(user: SignedIn): Promise<RegistrationOptions & Record<string, unknown>> {
    const res = await gql(app, START_REGISTRATION, {}, { token: user.accessToken });
    expect(res.errors).toBeUndefined();
    return must(res.data?.['startPasskeyRegistration'], 'registration options');
  }

  async function registered(name = 'Laptop'): Promise<{ user: SignedIn; authenticator: SoftAuthenticator; passkeyId: string }> {
    const user = await signUp(app);
    const authenticator = new SoftAuthenticator();
    const res = await gql(
      app,
      FINISH_REGISTRATION,
      { response: authenticator.register(await registrationOptions(user)), name },
      { token: user.accessToken },
    );
    expect(res.errors).toBeUndefined();
    return { user, authenticator, passkeyId: mustBeString(res.data?.['finishPasskeyRegistration']?.id, 'passkey id') };
  }

  async function loginOptions(): Promise<LoginOptions> {
    const res = await gql(app, START_LOGIN);
    expect(res.errors).toBeUndefined();
    return must(res.data?.['startPasskeyLogin'], 'login options');
  }

  function finishLogin(response: Record<string, unknown>, transport?: string) {
    return gql(app, FINISH_LOGIN, { response, t: transport });
  }

  it('registers a passkey for the signed-in user and lists it with its name, creation and last use', async () => {
    const user = await signUp(app);
    const options = await registrationOptions(user);
    expect(options).toMatchObject({ rp: { id: 'localhost', name: 'graphql-auth-api' }, user: { name: user.email }, attestation: 'none' });
    expect(options['authenticatorSelection']).toMatchObject({ residentKey: 'required' });
    const authenticator = new SoftAuthenticator();
    const res = await gql(
      app,
      FINISH_REGISTRATION,
      { response: authenticator.register(options), name: '  Laptop  ' },
      { token: user.accessToken },
    );
    expect(res.errors).toBeUndefined();
    const passkey = res.data?.['finishPasskeyRegistration'];
    expect(passkey).toMatchObject({ name: 'Laptop', lastUsedAt: null });
    expect((await gql(app, PASSKEYS, {}, { token: user.accessToken })).data).toEqual({ passkeys: [passkey] });
    // The next registration options exclude it, so the same authenticator is not registered twice.
    expect((await registrationOptions(user))['excludeCredentials']).toEqual([
      { id: authenticator.id, type: 'public-key', transports: ['internal'] },
    ]);
    const events = await app.app.orm.em.fork().find(AuditEvent, { subjectId: user.id, type: 'PASSKEY_REGISTERED' as never });
    expect(events).toHaveLength(1);
  });

  it('signs in with the passkey alone, with amr hwk,mfa, even when TOTP is on', async () => {
    const { user, authenticator } = await registered();
    const secret = mustBeString(
      (await gql(app, 'mutation { enrollTotp { secret } }', {}, { token: user.accessToken })).data?.['enrollTotp']?.secret,
      'secret',
    );
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    expect(
      (await gql(app, 'mutation ($code: String!) { confirmTotp(code: $code) }', { code }, { token: user.accessToken })).errors,
    ).toBeUndefined();

    const res = await finishLogin(authenticator.login(await loginOptions()));
    expect(res.errors).toBeUndefined();
    const payload = res.data?.['finishPasskeyLogin'];
    expect(payload.user).toMatchObject({ id: user.id, email: user.email });
    expect(claimsOf(payload.accessToken)['amr']).toEqual(['hwk', 'mfa']);
    expect((await gql(app, `{ me { id } }`, {}, { token: payload.accessToken })).data).toEqual({ me: { id: user.id } });
    const [listed] = (await gql(app, PASSKEYS, {}, { token: payload.accessToken })).data?.['passkeys'] as { lastUsedAt: string | null }[];
    expect(listed?.lastUsedAt).not.toBeNull();
  });

  it('answers in cookie mode when asked', async () => {
    const { authenticator } = await registered();
    const res = await finishLogin(authenticator.login(await loginOptions()), 'COOKIE');
    expect(res.errors).toBeUndefined();
    expect(res.data?.['finishPasskeyLogin']?.refreshToken).toBeNull();
    expect(res.headers.get('set-cookie')).toMatch(/refresh_token=/);
  });

  it('refuses a replayed assertion, an old signature counter, a wrong origin and an unknown challenge', async () => {
    const { authenticator } = await registered();
    const response = authenticator.login(await loginOptions());
    expect((await finishLogin(response)).errors).toBeUndefined();
    expect(codes(await finishLogin(response))).toEqual([INVALID]);

    // A cloned authenticator shows up as a counter that does not move forward.
    authenticator.signCount = 0;
    expect(codes(await finishLogin(authenticator.login(await loginOptions())))).toEqual([INVALID]);
    authenticator.signCount = 10;
    expect(codes(await finishLogin(authenticator.login(await loginOptions(), { origin: 'https://evil.example' })))).toEqual([INVALID]);
    expect(codes(await finishLogin(authenticator.login(await loginOptions(), { challenge: 'bm90LWEtY2hhbGxlbmdl' })))).toEqual([INVALID]);
    // A registration challenge is no login challenge.
    const other = await signUp(app);
    const registration = await registrationOptions(other);
    expect(codes(await finishLogin(authenticator.login({ challenge: registration.challenge })))).toEqual([INVALID]);
    expect((await finishLogin(authenticator.login(await loginOptions()))).errors).toBeUndefined();
    const failures = await app.app.orm.em.fork().count(AuditEvent, { type: 'PASSKEY_LOGIN_FAILED' as never });
    expect(failures).toBeGreaterThanOrEqual(5);
  });

  it('refuses a registration for another origin, another user’s challenge, or a challenge used already', async () => {
    const user = await signUp(app);
    const other = await signUp(app);
    const authenticator = new SoftAuthenticator();
    const wrongOrigin = authenticator.register(await registrationOptions(user), { origin: 'https://evil.example' });
    const refused = await gql(app, FINISH_REGISTRATION, { response: wrongOrigin }, { token: user.accessToken });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0]?.extensions?.fields).toHaveProperty('response');

    const theirs = authenticator.register(await registrationOptions(other));
    expect(codes(await gql(app, FINISH_REGISTRATION, { response: theirs }, { token: user.accessToken }))).toEqual(['BAD_USER_INPUT']);

    const mine = authenticator.register(await registrationOptions(user));
    expect((await gql(app, FINISH_REGISTRATION, { response: mine }, { token: user.accessToken })).errors).toBeUndefined();
    expect(codes(await gql(app, FINISH_REGISTRATION, { response: mine }, { token: user.accessToken }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(app, FINISH_REGISTRATION, { response: { id: 'x' } }, { token: user.accessToken }))).toEqual(['BAD_USER_INPUT']);
    const oddHandle = authenticator.login({ challenge: 'x' });
    oddHandle['response'] = { ...(oddHandle['response'] as object), userHandle: { not: 'a string' } };
    expect(codes(await gql(app, FINISH_LOGIN, { response: oddHandle }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(app, START_REGISTRATION))).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
  });

  it('deletes a passkey for its owner only; a deleted passkey signs in no more', async () => {
    const { user, authenticator, passkeyId } = await registered();
    const stranger = await signUp(app);
    const DELETE = `mutation ($id: ID!) { deletePasskey(id: $id) }`;
    expect((await gql(app, DELETE, { id: passkeyId }, { token: stranger.accessToken })).data).toEqual({ deletePasskey: false });
    expect((await gql(app, DELETE, { id: 'not-a-uuid' }, { token: user.accessToken })).data).toEqual({ deletePasskey: false });
    expect((await finishLogin(authenticator.login(await loginOptions()))).errors).toBeUndefined();
    expect((await gql(app, DELETE, { id: passkeyId }, { token: user.accessToken })).data).toEqual({ deletePasskey: true });
    expect((await gql(app, PASSKEYS, {}, { token: user.accessToken })).data).toEqual({ passkeys: [] });
    expect(codes(await finishLogin(authenticator.login(await loginOptions())))).toEqual([INVALID]);
  });

  it('refuses an assertion that names another user than the passkey’s owner', async () => {
    const { authenticator } = await registered();
    const other = await signUp(app);
    const userHandle = Buffer.from(other.id).toString('base64url');
    expect(codes(await finishLogin(authenticator.login(await loginOptions(), { userHandle })))).toEqual([INVALID]);
  });

  it('refuses a disabled account, and resetUserMfa removes the passkeys', async () => {
    const { user, authenticator } = await registered();
    const admin = await userWithRole(app, Role.ADMIN);
    const asAdmin = { token: admin.accessToken };
    await gql(app, `mutation ($id: ID!) { deactivateUser(userId: $id) { id } }`, { id: user.id }, asAdmin);
    expect(codes(await finishLogin(authenticator.login(await loginOptions())))).toEqual(['UNAUTHENTICATED/ACCOUNT_DISABLED']);
    await gql(app, `mutation ($id: ID!) { reactivateUser(userId: $id) { id } }`, { id: user.id }, asAdmin);
    expect((await gql(app, `mutation ($id: ID!) { resetUserMfa(userId: $id) { id } }`, { id: user.id }, asAdmin)).errors).toBeUndefined();
    expect(codes(await finishLogin(authenticator.login(await loginOptions())))).toEqual([INVALID]);
  });
});

describe('passkeys in production without WEBAUTHN_RP_ID', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production', BCRYPT_COST: '10' } });
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('are off: every passkey operation answers FORBIDDEN / FEATURE_DISABLED', async () => {
    const user = await signUp(app);
    for (const query of [START_LOGIN, START_REGISTRATION, PASSKEYS]) {
      const res = await gql(app, query, {}, { token: user.accessToken });
      expect(codes(res)).toEqual(['FORBIDDEN/FEATURE_DISABLED']);
    }
  });
});
