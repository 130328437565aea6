import { dictionary } from '@zxcvbn-ts/language-common';
import { randomBytes } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, signUp, uniqueEmail } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';
import { must } from '../helpers/must';
import { codePointCount } from '../helpers/text';

type Reply = GraphQLResponse<Record<string, any>>;

const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const CHANGE_PASSWORD = `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { ${AUTH_FIELDS} } }`;

const LENGTH = 'must be between 8 and 256 characters';
const COMMON = 'is too common; choose a less guessable password';
const IS_EMAIL = 'must not be your email address or the part before the @';

/** The shipped list, straight from the package, so the tests follow it rather than a copy. */
const LIST = dictionary['passwords-common'];
const LISTED = LIST.filter((password) => codePointCount(password) >= 8);

/** A password of exactly `length` code points that no list holds. */
function passwordOf(length: number): string {
  return 'zebra-Kettle-79-violin-'.repeat(Math.ceil(length / 23)).slice(0, length);
}

/** An email of exactly `length` characters that the email syntax check alone accepts. */
function emailOf(length: number): string {
  const domain = ['d'.repeat(63), 'e'.repeat(63), 'f'.repeat(63), 'com'].join('.');
  const local = randomBytes(8)
    .toString('hex')
    .padEnd(length - domain.length - 1, 'u');
  expect(local.length).toBeLessThanOrEqual(64);
  return `${local}@${domain}`;
}

// Rate limits are their own suite; here every attempt must reach the password rules.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { RATE_LIMITS: 'off' } });
});
afterAll(async () => {
  await stopApps(app);
});

function signup(input: { email?: string; password: string; name?: string }): Promise<Reply> {
  return gql(app, SIGNUP, { input: { email: uniqueEmail('policy'), name: 'Policy Test', ...input } });
}

function login(email: string, password: string): Promise<Reply> {
  return gql(app, LOGIN, { input: { email, password } });
}

function changePassword(token: string, currentPassword: string, newPassword: string): Promise<Reply> {
  return gql(app, CHANGE_PASSWORD, { input: { currentPassword, newPassword } }, { token });
}

/** One BAD_USER_INPUT error on `operation` whose fields are exactly `fields`. */
function expectRefused(res: Reply, operation: string, fields: Record<string, string>): void {
  expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  expect(res.errors?.[0]?.path).toEqual([operation]);
  expect(res.errors?.[0]?.extensions?.fields).toEqual(fields);
  expect(res.data?.[operation] ?? null).toBeNull();
}

/** Signs up with `password`, then shows that exactly that password logs in. */
async function expectAccepted(password: string): Promise<void> {
  const email = uniqueEmail('accepted');
  const res = await signup({ email, password });
  expect(res.errors).toBeUndefined();
  expect(res.data?.['signup'].user.email).toBe(email);
  const again = await login(email, password);
  expect(again.errors).toBeUndefined();
  expect(again.data?.['login'].user.id).toBe(res.data?.['signup'].user.id);
}

describe('length, counted in code points of the NFC form', () => {
  it.each([
    ['7 characters', passwordOf(7)],
    ['7 emoji (14 UTF-16 units)', '🦊'.repeat(7)],
    ['257 characters', passwordOf(257)],
    ['257 emoji', '🦊'.repeat(257)],
  ])('refuses %s at signup on `password`', async (_name, password) => {
    expectRefused(await signup({ password }), 'signup', { password: LENGTH });
  });

  it.each([
    ['8 characters', passwordOf(8)],
    ['64 characters', passwordOf(64)],
    ['256 characters', passwordOf(256)],
    ['256 emoji (1024 UTF-8 bytes)', '🦊'.repeat(256)],
    // 512 code points as typed, 256 once composed: the NFC form is what counts.
    ['256 decomposed é (e + U+0301)', 'e\u0301'.repeat(256)],
    ['8 characters with spaces and no digit, capital or symbol', 'a b c de'],
  ])('accepts %s, which then logs in', async (_name, password) => {
    await expectAccepted(password);
  });

  it('refuses a ~90 kB password with BAD_USER_INPUT (under the body limit) at signup, login and changePassword', async () => {
    const huge = passwordOf(90_000);
    expectRefused(await signup({ password: huge }), 'signup', { password: LENGTH });

    const user = await signUp(app, { password: passwordOf(20) });
    expectRefused(await login(user.email, huge), 'login', { password: 'is too long' });
    expectRefused(await login(uniqueEmail('nobody'), huge), 'login', { password: 'is too long' });
    expectRefused(await changePassword(user.accessToken, user.password, huge), 'changePassword', { newPassword: LENGTH });
    expect((await login(user.email, user.password)).errors).toBeUndefined();
  });
});

describe('the shipped list of common passwords', () => {
  const named = ['password1', 'qwertyuiop', 'iloveyou12'];
  const sampled: readonly [string, string, string] = [
    must(LISTED[0], 'the first listed password'),
    must(LISTED[Math.floor(LISTED.length / 2)], 'the middle listed password'),
    must(LISTED.at(-1), 'the last listed password'),
  ];

  it('holds the passwords these tests use, and no password the other suites sign up with', () => {
    expect(LIST.length).toBeGreaterThan(10_000);
    for (const password of named) expect(LIST).toContain(password);
    for (const password of [passwordOf(8), 'a b c de', 'correct horse battery']) expect(LIST).not.toContain(password.toLowerCase());
  });

  it.each([...named, ...sampled])('refuses %s at signup on `password`', async (password) => {
    expectRefused(await signup({ password }), 'signup', { password: COMMON });
  });

  it.each([
    ['upper case', 'PASSWORD1'],
    ['mixed case', 'QwertyUIOP'],
  ])('refuses a listed password in %s', async (_name, password) => {
    expectRefused(await signup({ password }), 'signup', { password: COMMON });
  });

  it('refuses a listed password as newPassword at changePassword, and the old password still works', async () => {
    const user = await signUp(app, { password: passwordOf(12) });
    for (const newPassword of [...named, sampled[1]]) {
      expectRefused(await changePassword(user.accessToken, user.password, newPassword), 'changePassword', { newPassword: COMMON });
    }
    expect((await login(user.email, user.password)).errors).toBeUndefined();
    expect(codes(await login(user.email, 'password1'))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
  });

  it('accepts an 8-character password that is not on the list, also at changePassword', async () => {
    const password = 'vq8#Lm2!';
    expect(LIST).not.toContain(password.toLowerCase());
    await expectAccepted(password);

    const user = await signUp(app, { password: passwordOf(12) });
    const changed = await changePassword(user.accessToken, user.password, 'tq5%Rn7?');
    expect(changed.errors).toBeUndefined();
    expect((await login(user.email, 'tq5%Rn7?')).errors).toBeUndefined();
  });
});

describe('context-specific words: the email', () => {
  it('refuses the email itself, in any case, and its local part at signup', async () => {
    const email = uniqueEmail('longlocal');
    expectRefused(await signup({ email, password: email.toUpperCase() }), 'signup', { password: IS_EMAIL });
    expectRefused(await signup({ email, password: must(email.split('@')[0], 'the local part') }), 'signup', { password: IS_EMAIL });
    // The same password with another email is fine: the rule is about this account.
    await expectAccepted(email);
  });

  it('refuses the own email as newPassword at changePassword', async () => {
    const user = await signUp(app, { password: passwordOf(12) });
    expectRefused(await changePassword(user.accessToken, user.password, user.email), 'changePassword', { newPassword: IS_EMAIL });
    expect((await login(user.email, user.password)).errors).toBeUndefined();
  });
});

describe('no silent truncation at 72 bytes (HMAC-SHA-256 pre-hash of the NFC form)', () => {
  it.each([
    ['80 ASCII bytes', 'q'.repeat(80)],
    ['72 bytes of emoji', '🦊'.repeat(18)],
  ])('passwords sharing the first %s but not the tail are different passwords', async (_name, prefix) => {
    const email = uniqueEmail('tail');
    const first = `${prefix}-first-tail`;
    const second = `${prefix}-other-tail`;
    expect(Buffer.byteLength(prefix)).toBeGreaterThanOrEqual(72);
    expect((await signup({ email, password: first })).errors).toBeUndefined();

    expect(codes(await login(email, second))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    expect(codes(await login(email, prefix))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    expect((await login(email, first)).errors).toBeUndefined();
  });

  it('a 100-emoji password (400 bytes) works, and the same with its last emoji changed does not', async () => {
    const email = uniqueEmail('emoji');
    const password = '🔐'.repeat(100);
    expect(Buffer.byteLength(password)).toBe(400);
    expect((await signup({ email, password })).errors).toBeUndefined();
    expect((await login(email, password)).errors).toBeUndefined();
    expect(codes(await login(email, `${'🔐'.repeat(99)}🔑`))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
  });

  it('the NFC and NFD forms of one password are the same password, both ways', async () => {
    const nfc = 'Crème brûlée, señor Ångström'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);

    const composed = uniqueEmail('nfc');
    expect((await signup({ email: composed, password: nfc })).errors).toBeUndefined();
    expect((await login(composed, nfd)).errors).toBeUndefined();
    expect((await login(composed, nfc)).errors).toBeUndefined();

    const decomposed = uniqueEmail('nfd');
    expect((await signup({ email: decomposed, password: nfd })).errors).toBeUndefined();
    expect((await login(decomposed, nfc)).errors).toBeUndefined();
    // A different accent is a different password.
    expect(codes(await login(decomposed, nfc.replace('è', 'é')))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
  });
});

describe('enumeration', () => {
  it('refuses an email of 255 characters at signup and login on `email`; 254 works', async () => {
    const tooLong = emailOf(255);
    expect(tooLong).toHaveLength(255);
    const message = 'must be a valid email address of at most 254 characters';
    expectRefused(await signup({ email: tooLong, password: passwordOf(12) }), 'signup', { email: message });
    expectRefused(await login(tooLong, passwordOf(12)), 'login', { email: message });

    const longest = emailOf(254);
    expect(longest).toHaveLength(254);
    expect((await signup({ email: longest, password: passwordOf(12) })).errors).toBeUndefined();
    const res = await login(longest, passwordOf(12));
    expect(res.errors).toBeUndefined();
    expect(res.data?.['login'].user.email).toBe(longest);
  });

  it('answers an unknown email and a wrong password with the same message and extensions', async () => {
    const user = await signUp(app, { password: passwordOf(16) });
    const wrongPassword = await login(user.email, passwordOf(17));
    const unknownEmail = await login(uniqueEmail('nobody'), passwordOf(17));
    const unknownEmailSamePassword = await login(uniqueEmail('nobody'), user.password);

    expect(codes(wrongPassword)).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    for (const other of [unknownEmail, unknownEmailSamePassword]) {
      expect(other.status).toBe(wrongPassword.status);
      expect(other.data).toEqual(wrongPassword.data);
      expect(other.errors?.map((e) => e.message)).toEqual(wrongPassword.errors?.map((e) => e.message));
      expect(other.errors?.map((e) => e.extensions)).toEqual(wrongPassword.errors?.map((e) => e.extensions));
    }
    expect((await login(user.email, user.password)).errors).toBeUndefined();
  });
});
