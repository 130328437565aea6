// A Redis outage and its end, on a redis-server of this test's own (never the shared one): while
// Redis is down the rate-limited mutations fail closed with SERVICE_UNAVAILABLE and everything
// else keeps working; once Redis is back the same app instance recovers by itself, and the limits
// count again.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD, Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { pollUntil } from '../helpers/eventually';
import { gql, type GraphQLResponse } from '../helpers/graphql';
import { account, login, outcome } from '../helpers/rate-limits';

const INVALID = 'UNAUTHENTICATED/INVALID_CREDENTIALS';
const UNAVAILABLE = 'SERVICE_UNAVAILABLE';
const WRONG = 'not the password at all';
/** Generous: a refusal takes one reconnection wait (1 s) or one command time-out (2.5 s), even on a loaded machine. */
const ANSWER_WITHIN_MS = 15_000;

/** A port nothing listens on right now, for this test's redis-server. */
async function sparePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** True when a Redis on the port answers PING. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** A disposable redis-server: nothing saved, nothing loaded, so a restart starts empty. */
class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';
  /** Chosen by the first start and kept: a restart comes back on the same address. */
  private port: number | undefined;

  get url(): string {
    if (this.port === undefined) throw new Error('redis-server has not been started');
    return `redis://127.0.0.1:${String(this.port)}`;
  }

  async start(): Promise<void> {
    const port = (this.port ??= await sparePort());
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    await pollUntil(`redis-server on port ${String(port)}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${this.output}`);
      return (await pong(port)) ? true : undefined;
    });
  }

  /** Killed outright, as a crash or an OOM kill would: no goodbye to its clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return; // never started
    if (child.exitCode !== null || child.signalCode !== null) return; // already gone
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** The request, which must be answered (whatever the answer) within ANSWER_WITHIN_MS. */
async function answered<T>(request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(ANSWER_WITHIN_MS)} ms`));
    }, ANSWER_WITHIN_MS);
  });
  try {
    return await Promise.race([request, late]);
  } finally {
    clearTimeout(timer);
  }
}

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
    await redis.kill();
  });

  it('fails closed while Redis is down, keeps the reads working, and recovers without a restart', async () => {
    // Before: everything works, with the counts in Redis.
    const user = await signUp(app);
    const admin = await userWithRole(app, Role.ADMIN);
    const target = await account(app);
    expect(outcome(await login(app, target.email, PASSWORD))).toBe('ok');

    await redis.kill();

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
