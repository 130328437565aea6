import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Role } from '../../src/access/role';
import { TokenTransport } from '../../src/sessions/token-transport';
import { User } from '../../src/users/user.entity';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD, uniqueEmail } from '../helpers/factories';
import { gql } from '../helpers/graphql';
import { account, evaluatedLogins, login, outcome, retryAfterOf, tally } from '../helpers/rate-limits';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const INVALID = 'UNAUTHENTICATED/INVALID_CREDENTIALS';
const UNAVAILABLE = 'SERVICE_UNAVAILABLE';
const WRONG = 'not the password at all';

describe('two instances sharing one Redis', () => {
  // Both instances share this run's keys, and no other run's.
  const env = { RATE_LIMITS: '', REDIS_URL, REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}:` };
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    [first, second] = await Promise.all([startTestApp({ env }), startTestApp({ env })]);
  });
  afterAll(async () => {
    await stopApps(first, second);
  });

  /** The same account (email and password) in each instance's database. */
  async function sharedAccount(): Promise<{ email: string; ids: [string, string] }> {
    const email = uniqueEmail('shared');
    const [a, b] = await Promise.all([account(first, email), account(second, email)]);
    return { email, ids: [a.id, b.id] };
  }

  it('stops attempts split across the instances at the one limit', async () => {
    const { email, ids } = await sharedAccount();
    for (const app of [first, second, first, second, first]) expect(outcome(await login(app, email, WRONG))).toBe(INVALID);
    for (const app of [second, first]) {
      const refused = await login(app, email.toUpperCase(), PASSWORD);
      expect(outcome(refused)).toBe('RATE_LIMITED');
      expect(retryAfterOf(refused)).toBeGreaterThanOrEqual(1);
      expect(retryAfterOf(refused)).toBeLessThanOrEqual(15 * 60);
    }
    expect((await evaluatedLogins(first, ids[0])) + (await evaluatedLogins(second, ids[1]))).toBe(5);
  });

  it('evaluates at most 5 of 20 parallel guesses spread over both instances', async () => {
    const { email, ids } = await sharedAccount();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(i % 2 === 0 ? first : second, email, i === 7 ? PASSWORD : `${WRONG} ${String(i)}`)),
    );
    const counts = tally(responses);
    expect((counts['ok'] ?? 0) + (counts[INVALID] ?? 0)).toBe(5);
    expect(counts['RATE_LIMITED']).toBe(15);
    expect((await evaluatedLogins(first, ids[0])) + (await evaluatedLogins(second, ids[1]))).toBe(5);
  });
});

describe('Redis unreachable', () => {
  /** A server that accepts connections and never answers, as a hung Redis would. */
  let silent: net.Server;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    silent.close();
    await once(silent, 'close');
  });

  /** An access token for an account created beside the API: signing in is one of the operations that fail closed. */
  async function signedIn(app: TestApp): Promise<{ id: string; token: string }> {
    const { id } = await account(app);
    const em = app.app.orm.em.fork();
    const user = await app.app.orm.em.fork().findOneOrFail(User, { id });
    const { session } = await app.app.services.sessions.start(em, user, { ip: null, userAgent: null }, TokenTransport.BODY);
    return { id, token: app.app.services.tokens.signAccess({ userId: id, sessionId: session.id, role: Role.USER }).token };
  }

  it.each([
    ['refused (closed port)', () => 'redis://127.0.0.1:1'],
    ['silent (no answer)', () => `redis://127.0.0.1:${String((silent.address() as AddressInfo).port)}`],
  ])(
    '%s: the rate-limited mutations fail closed with a clear error, everything else works',
    async (_name, url) => {
      const app = await startTestApp({ env: { RATE_LIMITS: '', REDIS_URL: url() } });
      try {
        const target = await account(app);
        const refused = await login(app, target.email, PASSWORD);
        expect(outcome(refused)).toBe(UNAVAILABLE);
        expect(refused.errors?.[0]?.message).toBe('Rate limiting is unavailable; try again shortly');
        expect(await evaluatedLogins(app, target.id)).toBe(0);
        const signup = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }`, {
          input: { email: uniqueEmail(), password: PASSWORD, name: 'New' },
        });
        expect(outcome(signup)).toBe(UNAVAILABLE);
        expect(outcome(await gql(app, `mutation { refreshToken(token: "x") { accessToken } }`))).toBe(UNAVAILABLE);

        const { id, token } = await signedIn(app);
        const me = await gql(app, `query { me { id } }`, {}, { token });
        expect(me.errors).toBeUndefined();
        expect(me.data?.['me'].id).toBe(id);
        const change = await gql(
          app,
          `mutation { changePassword(input: { currentPassword: "${PASSWORD}", newPassword: "another long passphrase" }) { accessToken } }`,
          {},
          { token },
        );
        expect(outcome(change)).toBe(UNAVAILABLE);
        expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      } finally {
        await app.stop();
      }
    },
    30_000,
  );
});
