// An attempt is checked against several buckets (login: the client's IP first, then the account).
// One that a bucket refuses counts in none: logins refused for a locked account do not use up the
// budget of the IP they came from. On both counters: in-process, and a private redis-server.
import { randomBytes } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD } from '../helpers/factories';
import { RedisServer } from '../helpers/redis-server';
import { account, login, outcome } from '../helpers/rate-limits';

const WRONG = 'not the password at all';
const ACCOUNT_MAX = 2;
const IP_MAX = 3;
const RATE_LIMITS = `login:account=${String(ACCOUNT_MAX)}/15m,login:ip=${String(IP_MAX)}/15m`;

/** A client address, as the trusted proxy (loopback) reports it. */
const from = (ip: string): Record<string, string> => ({ 'x-forwarded-for': ip });

describe.each([
  ['in-process counter', false],
  ['Redis counter', true],
])('a login refused by one bucket (%s)', (_name, withRedis) => {
  const redis = new RedisServer();
  let app: TestApp;

  beforeAll(async () => {
    let store: Record<string, string> = {};
    if (withRedis) {
      await redis.start();
      store = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `refused-${randomBytes(6).toString('hex')}:` };
    }
    app = await startTestApp({ env: { RATE_LIMITS, TRUST_PROXY: 'loopback', ...store } });
  });
  afterAll(async () => {
    await stopApps(app);
    await redis.stop();
  });

  it('is not counted in the IP bucket taken before the account bucket refused it', async () => {
    const locked = await account(app);
    // The account's window fills from a first address.
    for (let i = 0; i < ACCOUNT_MAX; i++) {
      expect(outcome(await login(app, locked.email, WRONG, from('203.0.113.1')))).toBe('UNAUTHENTICATED/INVALID_CREDENTIALS');
    }
    // From a second address, more tries than its own budget: every one refused for the account.
    for (let i = 0; i < IP_MAX + 1; i++) {
      expect(outcome(await login(app, locked.email, PASSWORD, from('203.0.113.2')))).toBe('RATE_LIMITED');
    }
    // That address still has its whole budget for other accounts, and no more.
    for (let i = 0; i < IP_MAX; i++) {
      const other = await account(app);
      expect(outcome(await login(app, other.email, PASSWORD, from('203.0.113.2')))).toBe('ok');
    }
    const another = await account(app);
    expect(outcome(await login(app, another.email, PASSWORD, from('203.0.113.2')))).toBe('RATE_LIMITED');
  }, 60_000);
});
