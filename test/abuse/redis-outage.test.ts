// A Redis outage and its end, on a redis-server of this test's own (never the shared one): while
// Redis is down the rate-limited mutations fail closed with SERVICE_UNAVAILABLE and everything
// else keeps working; once Redis is back the same app instance recovers by itself, and the limits
// count again.
import { randomBytes } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD, Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { pollUntil } from '../helpers/eventually';
import { gql, type GraphQLResponse } from '../helpers/graphql';
import { account, login, outcome } from '../helpers/rate-limits';
import { RedisServer } from '../helpers/redis-server';
import { answeredWithin } from '../helpers/outage';

const INVALID = 'UNAUTHENTICATED/INVALID_CREDENTIALS';
const UNAVAILABLE = 'SERVICE_UNAVAILABLE';
const WRONG = 'not the password at all';
/** Generous: a refusal takes one reconnection wait (1 s) or one command time-out (2.5 s), even on a loaded machine. */
const ANSWER_WITHIN_MS = 15_000;

const answered = <T>(request: Promise<T>): Promise<T> => answeredWithin(ANSWER_WITHIN_MS, request);

const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }`;
const REFRESH = `mutation ($token: String!) { refreshToken(token: $token) { accessToken refreshToken } }`;

function signup(app: TestApp): Promise<GraphQLResponse> {
  return gql(app, SIGNUP, { input: { email: uniqueEmail('outage'), password: PASSWORD, name: 'Outage' } });
}

function refresh(app: TestApp, token: string): Promise<GraphQLResponse<{ refreshToken: { accessToken: string; refreshToken: string } }>> {
  return gql(app, REFRESH, { token });
}

/** The reads that do not touch Redis: the viewer's own account, and the admin's user list. */
async function expectReadsWork(app: TestApp, user: SignedIn, admin: SignedIn): Promise<void> {
  const me = await answered(gql(app, `query { me { id } }`, {}, { token: user.accessToken }));
  expect(me.errors).toBeUndefined();
  expect(me.data?.['me'].id).toBe(user.id);
  const users = await answered(
    gql(app, `query { users(first: 10) { totalCount edges { node { id } } } }`, {}, { token: admin.accessToken }),
  );
  expect(users.errors).toBeUndefined();
  expect(users.data?.['users'].totalCount).toBeGreaterThanOrEqual(2);
  expect(users.data?.['users'].edges.map((edge: { node: { id: string } }) => edge.node.id)).toContain(user.id);
}

describe('Redis goes down and comes back', () => {
  const redis = new RedisServer();
  let app: TestApp;
  const logLines: string[] = [];

  beforeAll(async () => {
    await redis.start();
    app = await startTestApp({
      env: { RATE_LIMITS: '', REDIS_URL: redis.url, REDIS_KEY_PREFIX: `outage-${randomBytes(6).toString('hex')}:`, LOG_LEVEL: 'info' },
      logLines,
    });
  });
  afterAll(async () => {
    await stopApps(app);
    await redis.stop();
  });

  it('fails closed while Redis is down, keeps the reads working, and recovers without a restart', async () => {
    // Before: everything works, with the counts in Redis.
    const user = await signUp(app);
    const admin = await userWithRole(app, Role.ADMIN);
    const target = await account(app);
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('ok');

    await redis.stop();

    // Down: every rate-limited mutation is refused, promptly, and none of them runs.
    const refused = await answered(login(app, target.email, PASSWORD));
    expect(outcome(refused)).toBe(UNAVAILABLE);
    expect(refused.errors?.[0]?.message).toBe('Rate limiting is unavailable; try again shortly');
    expect(outcome(await answered(signup(app)))).toBe(UNAVAILABLE);
    expect(outcome(await answered(refresh(app, user.refreshToken)))).toBe(UNAVAILABLE);
    await expectReadsWork(app, user, admin);
    // Still down a while later: the client keeps failing closed while it retries in the background.
    expect(outcome(await answered(login(app, target.email, PASSWORD)))).toBe(UNAVAILABLE);
    expect(logLines.some((line) => line.includes('rate limits: Redis unreachable'))).toBe(true);

    // Back, on the same address and empty: the same app instance picks it up by itself.
    await redis.start();
    await pollUntil('login to work again', async () => {
      const response = await answered(login(app, target.email, PASSWORD));
      if (outcome(response) === UNAVAILABLE) return undefined;
      expect(outcome(response)).toBe('ok');
      return response;
    });
    expect(logLines.some((line) => line.includes('rate limits: Redis reachable again'))).toBe(true);
    expect(outcome(await answered(signup(app)))).toBe('ok');
    // The refresh token refused during the outage was not spent: the refusal came before the resolver.
    const rotated = await answered(refresh(app, user.refreshToken));
    expect(rotated.errors).toBeUndefined();
    expect(typeof rotated.data?.refreshToken.refreshToken).toBe('string');
    await expectReadsWork(app, user, admin);

    // The limits count again, in the restarted Redis: 5 wrong passwords, then the account is locked.
    const victim = await account(app);
    for (let i = 0; i < 5; i++) expect(outcome(await login(app, victim.email, WRONG))).toBe(INVALID);
    expect(outcome(await login(app, victim.email, PASSWORD))).toBe('RATE_LIMITED');
  }, 120_000);
});
