import { randomBytes } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';

/**
 * Look-alike identities: a fullwidth, decomposed or mixed-script form of an existing account's email
 * is that account's email (normalised with NFKC) or refused as taken (same UTS #39 confusable
 * skeleton); names are stored in NFKC.
 */

const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { accessToken user { id } } }`;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await stopApps(app);
});

const tag = (): string => randomBytes(3).toString('hex');

function signup(email: string, name = 'Someone') {
  return gql(app, SIGNUP, { input: { email, password: PASSWORD, name } });
}

function toFullwidth(text: string): string {
  return Array.from(text, (char) => (char >= '!' && char <= '~' ? String.fromCodePoint((char.codePointAt(0) ?? 0) + 0xfee0) : char)).join(
    '',
  );
}

describe('an email that looks like an existing one', () => {
  it('in fullwidth characters is the same account: taken at signup, accepted at login', async () => {
    const local = `ada${tag()}`;
    expect(codes(await signup(`${local}@example.com`))).toEqual([]);
    const fullwidth = `${toFullwidth(local)}@example.com`;
    const taken = await signup(fullwidth);
    expect(codes(taken)).toEqual(['BAD_USER_INPUT']);
    expect(taken.errors?.[0]?.extensions?.fields).toEqual({ email: 'is already registered' });
    expect(codes(await gql(app, LOGIN, { input: { email: fullwidth, password: PASSWORD } }))).toEqual([]);
  });

  it('in decomposed (NFD) form is the same account', async () => {
    const local = `jos\u00e9${tag()}`;
    expect(codes(await signup(`${local}@example.com`))).toEqual([]);
    expect(codes(await signup(`${local.normalize('NFD')}@example.com`))).toEqual(['BAD_USER_INPUT']);
  });

  it('with a Cyrillic letter in place of a Latin one is refused as taken', async () => {
    const suffix = tag();
    expect(codes(await signup(`paypal${suffix}@example.com`))).toEqual([]);
    const cyrillic = `p\u0430yp\u0430l${suffix}@example.com`; // U+0430 CYRILLIC SMALL LETTER A
    const taken = await signup(cyrillic);
    expect(codes(taken)).toEqual(['BAD_USER_INPUT']);
    expect(taken.errors?.[0]?.extensions?.fields).toEqual({ email: 'is already registered' });
  });

  it('an unrelated email still registers', async () => {
    expect(codes(await signup(`grace${tag()}@example.com`))).toEqual([]);
  });
});

describe('names', () => {
  it('are stored in NFKC: fullwidth letters become their usual form', async () => {
    const res = await signup(`name${tag()}@example.com`, toFullwidth('Ada'));
    expect(codes(res)).toEqual([]);
    expect(res.data?.['signup'].user.name).toBe('Ada');
  });
});
