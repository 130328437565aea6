// A Redis that stops answering for a while (frozen with SIGSTOP: connections open, nothing
// answers) keeps the commands it received and runs them when it resumes. The logins it refused
// meanwhile (SERVICE_UNAVAILABLE) must then count nowhere: the next correct login succeeds.
import { randomBytes } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD } from '../helpers/factories';
import { RedisServer } from '../helpers/redis-server';
import { account, login, outcome } from '../helpers/rate-limits';
import { answeredWithin } from '../helpers/outage';

const WRONG = 'not the password at all';
/** Generous: a refusal takes one command time-out (2.5 s), even on a loaded machine. */
const ANSWER_WITHIN_MS = 15_000;

const answered = <T>(request: Promise<T>): Promise<T> => answeredWithin(ANSWER_WITHIN_MS, request);
const REFUSED_DURING_FREEZE = 10;

describe('Redis frozen, then thawed', () => {
  const redis = new RedisServer();
  let app: TestApp;

  beforeAll(async () => {
    await redis.start();
    // Only the account bucket (5 per 15 minutes, the default): the attempts of the freeze all reach it.
    app = await startTestApp({
      env: { RATE_LIMITS: 'login:ip=off', REDIS_URL: redis.url, REDIS_KEY_PREFIX: `freeze-${randomBytes(6).toString('hex')}:` },
    });
  });
  afterAll(async () => {
    await stopApps(app);
    await redis.stop();
  });

  it('does not count the attempts it refused while Redis did not answer', async () => {
    const target = await account(app);
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('ok');

    redis.freeze();
    try {
      const refused = await Promise.all(Array.from({ length: REFUSED_DURING_FREEZE }, () => answered(login(app, target.email, WRONG))));
      expect(refused.map(outcome)).toEqual(Array.from({ length: REFUSED_DURING_FREEZE }, () => 'SERVICE_UNAVAILABLE'));
    } finally {
      redis.thaw();
    }

    // Redis has now run the takes it held; none of them stays counted.
    expect(outcome(await answered(login(app, target.email, PASSWORD)))).toBe('ok');
    // And the limit still counts: 2 counted so far, 3 more wrong passwords fill the window.
    for (let i = 0; i < 3; i++) expect(outcome(await login(app, target.email, WRONG))).toBe('UNAUTHENTICATED/INVALID_CREDENTIALS');
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('RATE_LIMITED');
  }, 120_000);
});
