import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, signUp, uniqueEmail } from '../helpers/factories';
import { gql } from '../helpers/graphql';
import { account, evaluatedLogins, login, outcome, retryAfterOf, tally } from '../helpers/rate-limits';

const INVALID = 'UNAUTHENTICATED/INVALID_CREDENTIALS';
const WRONG = 'not the password at all';

/** Limits on; the test helpers turn them off for every other suite. `''` means the defaults. */
function appWithLimits(rateLimits: string, env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ env: { RATE_LIMITS: rateLimits, ...env } });
}

describe('login per account, with the default limits (5 per 15 minutes)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithLimits('');
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('counts case and space variants of one email in one bucket, and then refuses even the right password', async () => {
    const target = await account(app);
    const variants = [target.email, target.email.toUpperCase(), `  ${target.email} `, ` ${target.email.toUpperCase()}`, target.email];
    for (const email of variants) expect(outcome(await login(app, email, WRONG))).toBe(INVALID);

    const refused = await login(app, `\t${target.email.replace(/^./, (c) => c.toUpperCase())}`, PASSWORD);
    expect(outcome(refused)).toBe('RATE_LIMITED');
    expect(refused.errors?.[0]?.message).toBe('Too many attempts, try again later');
    expect(refused.data).toBeNull();
    const retryAfter = retryAfterOf(refused);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(await evaluatedLogins(app, target.id)).toBe(5);

    // Another account from the same address is not affected.
    const other = await account(app);
    expect(outcome(await login(app, other.email, PASSWORD))).toBe('ok');
  });

  it('counts every alias of one request as an attempt', async () => {
    const target = await account(app);
    const input = `input: { email: "${target.email}", password: "${PASSWORD}" }`;
    const aliases = ['a', 'b', 'c', 'd', 'e', 'f'].map((alias) => `${alias}: login(${input}) { accessToken }`).join('\n');
    const response = await gql(app, `mutation { ${aliases} }`);
    // The first five sign in; the sixth is refused, which nulls the (non-null) mutation result.
    expect(response.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['f'], 'RATE_LIMITED']]);
    expect(await evaluatedLogins(app, target.id)).toBe(5);
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('RATE_LIMITED');
  });

  it('evaluates at most 5 of 20 parallel guesses, the right password among them; the rest are refused unevaluated', async () => {
    const target = await account(app);
    const guesses = Array.from({ length: 20 }, (_, i) => (i === 13 ? PASSWORD : `${WRONG} ${String(i)}`));
    const responses = await Promise.all(guesses.map((password) => login(app, target.email, password)));
    const counts = tally(responses);
    expect((counts['ok'] ?? 0) + (counts[INVALID] ?? 0)).toBe(5);
    expect(counts['RATE_LIMITED']).toBe(15);
    expect(Object.keys(counts).every((key) => ['ok', INVALID, 'RATE_LIMITED'].includes(key))).toBe(true);
    expect(await evaluatedLogins(app, target.id)).toBe(5);
  });
});

describe('login per client IP', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithLimits('login:ip=3/15m');
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('counts attempts at any accounts from one address; a spoofed X-Forwarded-For does not reset the bucket', async () => {
    for (let i = 0; i < 3; i++) expect(outcome(await login(app, uniqueEmail('nobody'), WRONG))).toBe(INVALID);
    const target = await account(app);
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('RATE_LIMITED');
    const spoofed = await login(app, target.email, PASSWORD, { 'x-forwarded-for': '203.0.113.7' });
    expect(outcome(spoofed)).toBe('RATE_LIMITED');
    expect(retryAfterOf(spoofed)).toBeGreaterThanOrEqual(1);
    expect(await evaluatedLogins(app, target.id)).toBe(0);
  });
});

describe('login per client IP behind a trusted proxy (TRUST_PROXY=loopback)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithLimits('login:ip=2/15m', { TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('counts by the forwarded client address', async () => {
    const first = { 'x-forwarded-for': '203.0.113.10' };
    const second = { 'x-forwarded-for': '203.0.113.20' };
    for (let i = 0; i < 2; i++) expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, first))).toBe(INVALID);
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, first))).toBe('RATE_LIMITED');
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, second))).toBe(INVALID);
  });
});

describe('login per account and address, under a per-account ceiling (defaults, TRUST_PROXY=loopback)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithLimits('', { TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => {
    await stopApps(app);
  });
  const from = (address: string) => ({ 'x-forwarded-for': address });

  it("does not lock the owner out on their own address with a stranger's wrong guesses", async () => {
    const target = await account(app);
    for (let i = 0; i < 5; i++) expect(outcome(await login(app, target.email, WRONG, from('203.0.113.66')))).toBe(INVALID);
    // The stranger's address is refused, even with the right password...
    expect(outcome(await login(app, target.email, PASSWORD, from('203.0.113.66')))).toBe('RATE_LIMITED');
    // ...the owner on another address is not.
    expect(outcome(await login(app, target.email, PASSWORD, from('198.51.100.7')))).toBe('ok');
    expect(await evaluatedLogins(app, target.id)).toBe(6);
  });

  it('counts every address towards the per-account ceiling for guessing spread over many addresses', async () => {
    await stopApps(app);
    app = await appWithLimits('login:account=6/15m', { TRUST_PROXY: 'loopback' });
    const target = await account(app);
    for (let i = 0; i < 6; i++) expect(outcome(await login(app, target.email, WRONG, from(`203.0.113.${String(i + 1)}`)))).toBe(INVALID);
    expect(outcome(await login(app, target.email, PASSWORD, from('198.51.100.8')))).toBe('RATE_LIMITED');
    expect(await evaluatedLogins(app, target.id)).toBe(6);
  });
});

describe('IPv6 clients count by their /64 (RATE_LIMIT_IPV6_PREFIX)', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    await stopApps(...apps);
  });
  const from = (address: string) => ({ 'x-forwarded-for': address });
  async function withPrefix(prefix?: string): Promise<TestApp> {
    const app = await appWithLimits('login:ip=2/15m', { TRUST_PROXY: 'loopback', ...(prefix ? { RATE_LIMIT_IPV6_PREFIX: prefix } : {}) });
    apps.push(app);
    return app;
  }

  it('puts every address of one /64 in one bucket, and another /64 in another', async () => {
    const app = await withPrefix();
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('2001:db8:5:6::1')))).toBe(INVALID);
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('2001:DB8:5:6:ffff:ffff:ffff:fffe')))).toBe(INVALID);
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('2001:db8:5:6:a:b:c:d')))).toBe('RATE_LIMITED');
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('2001:db8:0005:0006::99')))).toBe('RATE_LIMITED');
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('2001:db8:5:7::1')))).toBe(INVALID);
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address, and IPv4 addresses one by one', async () => {
    const app = await withPrefix();
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('192.0.2.44')))).toBe(INVALID);
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('::ffff:192.0.2.44')))).toBe(INVALID);
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('192.0.2.44')))).toBe('RATE_LIMITED');
    expect(outcome(await login(app, uniqueEmail('nobody'), WRONG, from('192.0.2.45')))).toBe(INVALID);
  });

  it('uses the configured prefix: /128 counts each address on its own, /48 a whole site', async () => {
    const single = await withPrefix('128');
    for (const address of ['2001:db8:9::1', '2001:db8:9::2', '2001:db8:9::3']) {
      expect(outcome(await login(single, uniqueEmail('nobody'), WRONG, from(address)))).toBe(INVALID);
    }
    const site = await withPrefix('48');
    expect(outcome(await login(site, uniqueEmail('nobody'), WRONG, from('2001:db8:9:1::1')))).toBe(INVALID);
    expect(outcome(await login(site, uniqueEmail('nobody'), WRONG, from('2001:db8:9:2::1')))).toBe(INVALID);
    expect(outcome(await login(site, uniqueEmail('nobody'), WRONG, from('2001:db8:9:3::1')))).toBe('RATE_LIMITED');
  });
});

describe('signup, refreshToken and changePassword limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithLimits('signup:ip=3/1h,refreshToken:ip=2/15m,changePassword:account=2/15m');
  });
  afterAll(async () => {
    await stopApps(app);
  });

  const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
  const REFRESH = `mutation ($token: String!) { refreshToken(token: $token) { accessToken } }`;
  const CHANGE_PASSWORD = `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }`;

  it('signup:ip counts signups from one address, and a refused signup creates nothing', async () => {
    await signUp(app);
    await signUp(app);
    await signUp(app);
    const email = uniqueEmail('late');
    const refused = await gql(app, SIGNUP, { input: { email, password: PASSWORD, name: 'Late' } });
    expect(outcome(refused)).toBe('RATE_LIMITED');
    expect(retryAfterOf(refused)).toBeGreaterThan(15 * 60);
    expect(retryAfterOf(refused)).toBeLessThanOrEqual(60 * 60);
    expect(outcome(await login(app, email, PASSWORD))).toBe(INVALID);
  });

  it('refreshToken:ip counts refresh attempts from one address, even with a valid token', async () => {
    const { refreshToken } = await signInTokens((await account(app)).email);
    expect(outcome(await gql(app, REFRESH, { token: 'not-a-token' }))).toBe('UNAUTHENTICATED/TOKEN_INVALID');
    expect(outcome(await gql(app, REFRESH, { token: 'still-not-a-token' }))).toBe('UNAUTHENTICATED/TOKEN_INVALID');
    expect(outcome(await gql(app, REFRESH, { token: refreshToken }))).toBe('RATE_LIMITED');
  });

  it('changePassword:account counts attempts per signed-in account; other accounts are not affected', async () => {
    const target = await account(app);
    const { accessToken } = await signInTokens(target.email);
    const change = (currentPassword: string, token: string) =>
      gql(app, CHANGE_PASSWORD, { input: { currentPassword, newPassword: 'a brand new passphrase' } }, { token });
    expect(outcome(await change(WRONG, accessToken))).toBe('BAD_USER_INPUT');
    expect(outcome(await change(WRONG, accessToken))).toBe('BAD_USER_INPUT');
    const refused = await change(PASSWORD, accessToken);
    expect(outcome(refused)).toBe('RATE_LIMITED');
    expect(retryAfterOf(refused)).toBeGreaterThanOrEqual(1);
    // The refused change did not happen: the old password still signs in.
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('ok');

    const other = await account(app);
    expect(outcome(await change(PASSWORD, (await signInTokens(other.email)).accessToken))).toBe('ok');
  });

  async function signInTokens(email: string): Promise<{ accessToken: string; refreshToken: string }> {
    const response = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email, password: PASSWORD },
    });
    if (!response.data) throw new Error(`login failed: ${JSON.stringify(response.errors)}`);
    return response.data['login'];
  }
});

describe('RATE_LIMITS=off', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await appWithLimits('off');
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('evaluates every attempt', async () => {
    const target = await account(app);
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => login(app, target.email, `${WRONG} ${String(i)}`)));
    expect(tally(responses)).toEqual({ [INVALID]: 12 });
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('ok');
    expect(await evaluatedLogins(app, target.id)).toBe(13);
  });
});
