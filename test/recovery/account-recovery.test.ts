import { readFileSync } from 'node:fs';
import { Secret, TOTP } from 'otpauth';
import path from 'node:path';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { pollUntil } from '../helpers/eventually';
import { AUTH_FIELDS, logIn, PASSWORD, Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';
import { TestSmtpServer, tokenIn, type ReceivedMail } from '../helpers/smtp';

/**
 * Password reset, email verification and email change, through GraphQL over HTTP with the mail
 * read from a real SMTP server.
 */

const APP_URL = 'https://app.example.test';
const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const RESET = `mutation ($input: ResetPasswordInput!) { resetPassword(input: $input) { ${AUTH_FIELDS} } }`;
const VERIFY = 'mutation ($token: String!) { verifyEmail(token: $token) }';
const CHANGE_EMAIL = 'mutation ($input: ChangeEmailInput!) { changeEmail(input: $input) }';
const ME = '{ me { id email emailVerified } }';
const NEW_PASSWORD = 'a completely new passphrase';

let smtp: TestSmtpServer;
let app: TestApp;

beforeAll(async () => {
  smtp = await TestSmtpServer.start();
  app = await startTestApp({ env: { SMTP_URL: smtp.url, APP_URL, MAIL_POLL_INTERVAL: '100ms', MAIL_RETRY_DELAY: '500ms' } });
});
afterAll(async () => {
  await stopApps(app);
  await smtp.stop();
});

/** The `count`th reset mail to `email`, once it arrived. */
async function resetMail(email: string, count = 1): Promise<ReceivedMail> {
  return pollUntil(`reset mail ${String(count)} to ${email}`, () => {
    const mails = smtp.to(email).filter((mail) => mail.subject === 'Reset your password');
    return Promise.resolve(mails.length >= count ? mails.at(count - 1) : undefined);
  });
}

async function verificationMail(email: string): Promise<ReceivedMail> {
  const mail = await pollUntil(`a verification mail to ${email}`, () =>
    Promise.resolve(
      smtp
        .to(email)
        .filter((m) => m.subject.includes('Confirm your'))
        .at(-1),
    ),
  );
  return mail;
}

function reset(token: string, newPassword = NEW_PASSWORD) {
  return gql(app, RESET, { input: { token, newPassword } });
}

describe('password reset', () => {
  it('mails a link built from APP_URL; the link sets a new password, ends every session, signs in and verifies the address', async () => {
    const user = await signUp(app);
    const other = await logIn(app, user.email, user.password);
    expect((await gql(app, REQUEST_RESET, { email: `  ${user.email.toUpperCase()} ` })).data).toEqual({ requestPasswordReset: true });
    const mail = await resetMail(user.email);
    expect(mail.text).toContain(`${APP_URL}/reset-password#token=`);
    expect(mail.html).toContain(`${APP_URL}/reset-password#token=`);

    const res = await reset(tokenIn(mail));
    expect(codes(res)).toEqual([]);
    expect(res.data?.['resetPassword'].user).toMatchObject({ id: user.id, email: user.email });
    for (const token of [user.accessToken, other.accessToken]) {
      expect(codes(await gql(app, ME, {}, { token }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    }
    const me = await gql(app, ME, {}, { token: res.data?.['resetPassword'].accessToken });
    expect(me.data?.['me']).toEqual({ id: user.id, email: user.email, emailVerified: true });
    await expect(logIn(app, user.email, NEW_PASSWORD)).resolves.toMatchObject({ id: user.id });
    await expect(logIn(app, user.email, PASSWORD)).rejects.toThrow(/INVALID_CREDENTIALS/);
  });

  it('resets the password of an account with TOTP, then asks for the second factor before any session', async () => {
    const user = await signUp(app);
    const secret = (await gql(app, 'mutation { enrollTotp { secret } }', {}, { token: user.accessToken })).data?.['enrollTotp']
      .secret as string;
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    const confirmed = await gql(
      app,
      'mutation ($code: String!) { confirmTotp(code: $code) }',
      { code: totp.generate() },
      { token: user.accessToken },
    );
    expect(confirmed.errors).toBeUndefined();
    expect((await gql(app, REQUEST_RESET, { email: user.email })).data).toEqual({ requestPasswordReset: true });

    const res = await reset(tokenIn(await resetMail(user.email)));
    expect(codes(res)).toEqual(['UNAUTHENTICATED/MFA_REQUIRED']);
    expect(res.data).toBeNull();
    // The mailbox changed the password, and no more: the session needs the second factor.
    expect(codes(await gql(app, ME, {}, { token: user.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    const mfaToken = res.errors?.[0]?.extensions?.['mfaToken'] as string;
    const verified = await gql(app, `mutation ($input: VerifyMfaInput!) { verifyMfa(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { mfaToken, code: totp.generate({ timestamp: Date.now() + 30_000 }) },
    });
    expect(verified.errors).toBeUndefined();
    expect((await gql(app, ME, {}, { token: verified.data?.['verifyMfa'].accessToken })).data?.['me']).toMatchObject({ id: user.id });
    await expect(logIn(app, user.email, NEW_PASSWORD)).rejects.toThrow(/MFA_REQUIRED/);
  });

  it('a link works once', async () => {
    const user = await signUp(app);
    await gql(app, REQUEST_RESET, { email: user.email });
    const token = tokenIn(await resetMail(user.email));
    expect(codes(await reset(token))).toEqual([]);
    expect(codes(await reset(token, 'yet another passphrase'))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });

  it('a newer request voids the older link', async () => {
    const user = await signUp(app);
    await gql(app, REQUEST_RESET, { email: user.email });
    const first = tokenIn(await resetMail(user.email));
    await gql(app, REQUEST_RESET, { email: user.email });
    const second = tokenIn(await resetMail(user.email, 2));
    expect(second).not.toBe(first);
    expect(codes(await reset(first))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    expect(codes(await reset(second))).toEqual([]);
  });

  it('a new password the policy refuses is BAD_USER_INPUT on newPassword and leaves the link usable', async () => {
    const user = await signUp(app);
    await gql(app, REQUEST_RESET, { email: user.email });
    const token = tokenIn(await resetMail(user.email));
    const weak = await reset(token, 'password');
    expect(codes(weak)).toEqual(['BAD_USER_INPUT']);
    expect(Object.keys(weak.errors?.[0]?.extensions?.fields ?? {})).toEqual(['newPassword']);
    const own = await reset(token, user.email);
    expect(codes(own)).toEqual(['BAD_USER_INPUT']);
    expect(codes(await reset(token))).toEqual([]);
  });

  it('a bad token, or one of another purpose, is TOKEN_INVALID', async () => {
    expect(codes(await reset('not-a-token'))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    expect(codes(await reset('A'.repeat(43)))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    const user = await signUp(app);
    const verification = tokenIn(await verificationMail(user.email));
    expect(codes(await reset(verification))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    await gql(app, REQUEST_RESET, { email: user.email });
    const resetToken = tokenIn(await resetMail(user.email));
    expect(codes(await gql(app, VERIFY, { token: resetToken }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });

  it('answers true for an unknown or deactivated address and mails nothing there', async () => {
    const admin = await userWithRole(app, Role.ADMIN);
    const deactivated = await signUp(app);
    await gql(app, 'mutation ($id: ID!) { deactivateUser(userId: $id) { id } }', { id: deactivated.id }, { token: admin.accessToken });
    const unknown = uniqueEmail('nobody');
    for (const email of [unknown, deactivated.email]) {
      expect((await gql(app, REQUEST_RESET, { email })).data).toEqual({ requestPasswordReset: true });
    }
    // Requests are handled in order: once a later one's mail is out, the earlier two were handled.
    const witness = await signUp(app);
    await gql(app, REQUEST_RESET, { email: witness.email });
    await resetMail(witness.email);
    expect(smtp.to(unknown)).toEqual([]);
    expect(smtp.to(deactivated.email).filter((mail) => mail.subject === 'Reset your password')).toEqual([]);
  });

  it('refuses a malformed address as BAD_USER_INPUT', async () => {
    expect(codes(await gql(app, REQUEST_RESET, { email: 'not an email' }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('email verification', () => {
  it('signup mails a link; verifyEmail confirms the address once', async () => {
    const user = await signUp(app);
    expect((await gql(app, ME, {}, { token: user.accessToken })).data?.['me'].emailVerified).toBe(false);
    const mail = await verificationMail(user.email);
    expect(mail.text).toContain(`${APP_URL}/verify-email#token=`);
    const token = tokenIn(mail);
    expect((await gql(app, VERIFY, { token })).data).toEqual({ verifyEmail: true });
    expect((await gql(app, ME, {}, { token: user.accessToken })).data?.['me'].emailVerified).toBe(true);
    expect(codes(await gql(app, VERIFY, { token }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });

  it('resendVerificationEmail mails a new link and voids the old one; false once verified', async () => {
    const user = await signUp(app);
    const first = tokenIn(await verificationMail(user.email));
    expect((await gql(app, 'mutation { resendVerificationEmail }', {}, { token: user.accessToken })).data).toEqual({
      resendVerificationEmail: true,
    });
    const second = tokenIn(must((await smtp.waitFor(user.email, 2)).at(-1), 'the second link'));
    expect(codes(await gql(app, VERIFY, { token: first }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
    expect(codes(await gql(app, VERIFY, { token: second }))).toEqual([]);
    expect((await gql(app, 'mutation { resendVerificationEmail }', {}, { token: user.accessToken })).data).toEqual({
      resendVerificationEmail: false,
    });
  });

  it('emailVerified is shown to the user themself, MODERATOR and ADMIN, and the schema says so', async () => {
    const moderator = await userWithRole(app, Role.MODERATOR);
    const user = await signUp(app);
    const seen = await gql(
      app,
      'query ($id: ID!) { user(id: $id) { id emailVerified } }',
      { id: user.id },
      { token: moderator.accessToken },
    );
    expect(seen.data?.['user']).toEqual({ id: user.id, emailVerified: false });
    const schema = readFileSync(path.resolve(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(schema).toMatch(/emailVerified: Boolean @authorized\(roles: \[MODERATOR, ADMIN\], self: true\)/);
  });
});

describe('email change', () => {
  async function change(user: SignedIn, newEmail: string, currentPassword = user.password) {
    return gql(app, CHANGE_EMAIL, { input: { newEmail, currentPassword } }, { token: user.accessToken });
  }

  it('mails the new address a link and the old one a notice; the address changes once the link is used', async () => {
    const user = await signUp(app);
    const newEmail = uniqueEmail('moved');
    expect((await change(user, newEmail)).data).toEqual({ changeEmail: true });
    const link = must((await smtp.waitFor(newEmail)).at(0), 'the link to the new address');
    const notice = await pollUntil('the notice to the old address', () =>
      Promise.resolve(smtp.to(user.email).find((mail) => mail.subject === 'Your email address is being changed')),
    );
    expect(notice.text).not.toContain('token=');

    // Until then the old address signs in.
    await expect(logIn(app, user.email, user.password)).resolves.toMatchObject({ id: user.id });
    await expect(logIn(app, newEmail, user.password)).rejects.toThrow(/INVALID_CREDENTIALS/);

    expect((await gql(app, VERIFY, { token: tokenIn(link) })).data).toEqual({ verifyEmail: true });
    expect((await gql(app, ME, {}, { token: user.accessToken })).data?.['me']).toEqual({
      id: user.id,
      email: newEmail,
      emailVerified: true,
    });
    await expect(logIn(app, newEmail, user.password)).resolves.toMatchObject({ id: user.id });
    await expect(logIn(app, user.email, user.password)).rejects.toThrow(/INVALID_CREDENTIALS/);
  });

  it('needs the current password, and refuses a taken address', async () => {
    const user = await signUp(app);
    const taken = await signUp(app);
    const wrong = await change(user, uniqueEmail('x'), 'not my password at all');
    expect(codes(wrong)).toEqual(['BAD_USER_INPUT']);
    expect(Object.keys(wrong.errors?.[0]?.extensions?.fields ?? {})).toEqual(['currentPassword']);
    const busy = await change(user, taken.email.toUpperCase());
    expect(codes(busy)).toEqual(['BAD_USER_INPUT']);
    expect(busy.errors?.[0]?.extensions?.fields).toEqual({ newEmail: 'is already registered' });
  });

  it('of two accounts racing for one address, the first to confirm gets it; the other gets BAD_USER_INPUT', async () => {
    const [a, b] = [await signUp(app), await signUp(app)];
    const target = uniqueEmail('wanted');
    expect(codes(await change(a, target))).toEqual([]);
    expect(codes(await change(b, target))).toEqual([]);
    const [first, second] = await smtp.waitFor(target, 2);
    expect(codes(await gql(app, VERIFY, { token: tokenIn(must(first, 'a link')) }))).toEqual([]);
    const loser = await gql(app, VERIFY, { token: tokenIn(must(second, 'the other link')) });
    expect(codes(loser)).toEqual(['BAD_USER_INPUT']);
    expect(loser.errors?.[0]?.extensions?.fields).toEqual({ newEmail: 'is already registered' });
  });

  it('voids the links mailed to the old address', async () => {
    const user = await signUp(app);
    await gql(app, REQUEST_RESET, { email: user.email });
    const resetToken = tokenIn(await resetMail(user.email));
    const newEmail = uniqueEmail('moved');
    await change(user, newEmail);
    await gql(app, VERIFY, { token: tokenIn(must((await smtp.waitFor(newEmail)).at(0), 'the link')) });
    expect(codes(await reset(resetToken))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
  });
});

describe('REQUIRE_EMAIL_VERIFICATION=true', () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await startTestApp({ env: { SMTP_URL: smtp.url, APP_URL, MAIL_POLL_INTERVAL: '100ms', REQUIRE_EMAIL_VERIFICATION: 'true' } });
  });
  afterAll(async () => {
    await stopApps(strict);
  });

  it('signup creates the account and mails the link but answers EMAIL_NOT_VERIFIED; login waits for the link', async () => {
    const email = uniqueEmail('strict');
    const signup = await gql(strict, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email, password: PASSWORD, name: 'Strict' },
    });
    expect(codes(signup)).toEqual(['UNAUTHENTICATED/EMAIL_NOT_VERIFIED']);
    const login = (password: string) =>
      gql(strict, `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, { input: { email, password } });
    expect(codes(await login('a wrong password entirely'))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    expect(codes(await login(PASSWORD))).toEqual(['UNAUTHENTICATED/EMAIL_NOT_VERIFIED']);
    const link = await pollUntil('the verification mail', () => Promise.resolve(smtp.to(email).at(0)));
    expect(codes(await gql(strict, VERIFY, { token: tokenIn(link) }))).toEqual([]);
    expect(codes(await login(PASSWORD))).toEqual([]);
  });
});

describe('an expired link', () => {
  let short: TestApp;
  beforeAll(async () => {
    short = await startTestApp({ env: { SMTP_URL: smtp.url, APP_URL, MAIL_POLL_INTERVAL: '100ms', PASSWORD_RESET_TTL: '1s' } });
  });
  afterAll(async () => {
    await stopApps(short);
  });

  it('is TOKEN_EXPIRED', async () => {
    const user = await signUp(short);
    await gql(short, REQUEST_RESET, { email: user.email });
    const token = tokenIn(await resetMail(user.email));
    // A password refused for this account (its own email) leaves the link usable, so asking with it
    // shows when the link expires.
    const expired = await pollUntil('the link to expire', async () => {
      const res = await gql(short, RESET, { input: { token, newPassword: user.email } });
      return codes(res).includes('BAD_USER_INPUT') ? undefined : res;
    });
    expect(codes(expired)).toEqual(['UNAUTHENTICATED/TOKEN_EXPIRED']);
    expect(codes(await gql(short, RESET, { input: { token, newPassword: NEW_PASSWORD } }))).toEqual(['UNAUTHENTICATED/TOKEN_EXPIRED']);
  });
});
