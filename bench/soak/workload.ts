// The load: virtual users running visitor journeys back to back, each request sent to the next
// instance in turn (as a round-robin load balancer would), checked, timed and counted.
import { asAuthPayload, type AuthPayload, LOGIN, postGraphQL, SIGNUP } from '../lib/graphql-client';
import { ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, REQUEST_TIMEOUT_MS, RUN_ID, VUS } from './config';
import { type Instance } from './instances';
import { type Operation, type Results } from './results';

const REFRESH = 'mutation Refresh($t: String) { refreshToken(token: $t) { accessToken refreshToken } }';
const ME = 'query Me { me { id email role } }';
const USERS =
  'query Users { users(first: 20) { totalCount edges { cursor node { id name email role } } pageInfo { hasNextPage endCursor } } }';

export const SESSION_ROUNDS = 3;
export const ME_PER_ROUND = 4;

/** The admin's access token lives 15 minutes (ACCESS_TOKEN_TTL default); it is rotated well before. */
const ADMIN_ROTATION_MS = 5 * 60_000;

interface Tokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly issuer: Instance;
}

export class Workload {
  private turn = 0;
  private deadline = 0;
  private admin: (Tokens & { rotatedAt: number }) | undefined;
  private adminRotation: Promise<void> | undefined;

  /** `interrupted`: Ctrl-C, which ends the load and abandons the requests in flight. */
  constructor(
    private readonly instances: readonly Instance[],
    private readonly results: Results,
    private readonly interrupted: AbortSignal,
  ) {}

  running(): boolean {
    return !this.interrupted.aborted && Date.now() < this.deadline;
  }

  /** When the load ends (epoch ms); 0 ends it now: every virtual user stops after its request in flight. */
  endAt(deadline: number): void {
    this.deadline = deadline;
  }

  /** The next instance in turn, as a round-robin load balancer picks it. */
  private next(): Instance {
    const instance = this.instances[this.turn++ % this.instances.length];
    if (!instance) throw new Error('no instance to send requests to');
    return instance;
  }

  private other(instance: Instance): Instance {
    const other = this.instances[(this.instances.indexOf(instance) + 1) % this.instances.length];
    if (!other) throw new Error('no instance to send requests to');
    return other;
  }

  /**
   * One GraphQL request. Returns its data when the answer is a 200 without errors and passes
   * `valid`; anything else is counted by kind and gives undefined.
   */
  private async call<T>(
    op: Operation,
    instance: Instance,
    query: string,
    variables: Record<string, unknown>,
    token: string | undefined,
    valid: (data: any) => data is T,
  ): Promise<T | undefined> {
    const started = performance.now();
    instance.requests++;
    try {
      const { status, text, body } = await postGraphQL(instance.server.url, query, {
        variables,
        token,
        timeoutMs: REQUEST_TIMEOUT_MS,
        signal: this.interrupted,
      });
      if (!body) {
        this.results.fail(`${op}: HTTP ${String(status)}, not JSON`, text);
        return undefined;
      }
      const [first] = body.errors ?? [];
      if (first) {
        const { code = 'no code', reason } = first.extensions ?? {};
        this.results.fail(`${op}: HTTP ${String(status)} ${code}${reason ? `/${reason}` : ''}`, first.message);
        return undefined;
      }
      if (status !== 200) {
        this.results.fail(`${op}: HTTP ${String(status)}`, text);
        return undefined;
      }
      if (!valid(body.data)) {
        this.results.fail(`${op}: unexpected data`, JSON.stringify(body.data));
        return undefined;
      }
      this.results.succeed(op, started);
      return body.data;
    } catch (error) {
      if (this.interrupted.aborted) return undefined; // Ctrl-C: not the service's failure
      const { name, message, cause } = error as Error & { cause?: { code?: string } };
      this.results.fail(
        `${op}: ${name === 'TimeoutError' ? `no answer within ${String(REQUEST_TIMEOUT_MS / 1000)} s` : 'network error'}`,
        `${message}${cause?.code ? ` (${cause.code})` : ''}`,
      );
      return undefined;
    }
  }

  /** Rotates a refresh token on the instance that did not issue it. */
  private async refresh(tokens: Tokens): Promise<Tokens | undefined> {
    const target = this.other(tokens.issuer);
    const data = await this.call(
      'refreshToken',
      target,
      REFRESH,
      { t: tokens.refreshToken },
      undefined,
      (d): d is { refreshToken: { accessToken: string; refreshToken: string } } =>
        typeof d?.refreshToken?.accessToken === 'string' && typeof d.refreshToken.refreshToken === 'string',
    );
    if (!data) return undefined;
    if (target !== tokens.issuer) this.results.crossInstanceRefreshes++;
    return { accessToken: data.refreshToken.accessToken, refreshToken: data.refreshToken.refreshToken, issuer: target };
  }

  private async me(tokens: Tokens, email: string): Promise<boolean> {
    const data = await this.call(
      'me',
      this.next(),
      ME,
      {},
      tokens.accessToken,
      (d): d is { me: unknown } => d?.me?.email === email && d.me.role === 'USER',
    );
    return data !== undefined;
  }

  /** Logs the bootstrap admin in (once, before the load), for the `users` requests. */
  async loginAdmin(): Promise<void> {
    const issuer = this.next();
    const data = await this.call(
      'login',
      issuer,
      LOGIN,
      { i: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } },
      undefined,
      (d): d is { login: AuthPayload } => asAuthPayload(d?.login) !== undefined,
    );
    if (!data) throw new Error(`the bootstrap admin cannot log in: ${JSON.stringify([...this.results.errors])}`);
    this.admin = { accessToken: data.login.accessToken, refreshToken: data.login.refreshToken, issuer, rotatedAt: Date.now() };
  }

  /** The admin's access token; rotated in the background (once at a time) before it expires. */
  private adminToken(): string {
    const admin = this.admin;
    if (!admin) throw new Error('loginAdmin() has not run');
    if (Date.now() - admin.rotatedAt > ADMIN_ROTATION_MS && !this.adminRotation) {
      this.adminRotation = this.refresh(admin)
        .then((tokens) => {
          this.admin = tokens ? { ...tokens, rotatedAt: Date.now() } : { ...admin, rotatedAt: Date.now() };
        })
        .catch((error: unknown) => {
          this.results.fail('users: admin token rotation failed', String(error));
        })
        .finally(() => {
          this.adminRotation = undefined;
        });
    }
    return admin.accessToken;
  }

  /**
   * What one visitor does: sign up, read their profile, log in again, then SESSION_ROUNDS rounds of
   * { rotate the refresh token on the instance that did not issue it, read their profile
   * ME_PER_ROUND times, an admin lists the first page of users }. 21 requests, 2 of them hashing
   * (signup, login): at bcrypt cost 10 a hash costs as much CPU as dozens of `me`, so fewer reads
   * would make the soak a bcrypt benchmark.
   */
  private async journey(vu: number, n: number): Promise<void> {
    const email = `soak-${RUN_ID}-${String(vu)}-${String(n)}@example.com`;
    const signupOn = this.next();
    const signedUp = await this.call(
      'signup',
      signupOn,
      SIGNUP,
      { i: { email, password: PASSWORD, name: `Soak ${String(vu)}.${String(n)}` } },
      undefined,
      (d): d is { signup: AuthPayload } => d?.signup?.user?.email === email && asAuthPayload(d.signup) !== undefined,
    );
    if (!signedUp || !this.running()) return;
    const { user } = signedUp.signup;
    if (!(await this.me({ ...signedUp.signup, issuer: signupOn }, email)) || !this.running()) return;
    const loginOn = this.next();
    const loggedIn = await this.call(
      'login',
      loginOn,
      LOGIN,
      { i: { email, password: PASSWORD } },
      undefined,
      (d): d is { login: AuthPayload } => asAuthPayload(d?.login)?.user.id === user.id,
    );
    if (!loggedIn || !this.running()) return;
    let tokens: Tokens = { ...loggedIn.login, issuer: loginOn };
    for (let round = 0; round < SESSION_ROUNDS; round++) {
      const rotated = await this.refresh(tokens);
      if (!rotated || !this.running()) return;
      tokens = rotated;
      for (let read = 0; read < ME_PER_ROUND; read++) {
        if (!(await this.me(tokens, email)) || !this.running()) return;
      }
      const page = await this.call(
        'users',
        this.next(),
        USERS,
        {},
        this.adminToken(),
        (d): d is { users: unknown } => d?.users?.totalCount >= 1 && d.users.edges.length >= 1 && d.users.edges.length <= 20,
      );
      if (!page || !this.running()) return;
    }
    this.results.journeys++;
  }

  private async virtualUser(vu: number): Promise<void> {
    for (let n = 0; this.running(); n++) await this.journey(vu, n);
  }

  /** Runs VUS virtual users until the end set by endAt() or Ctrl-C; resolves when the last journey has ended. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: VUS }, (_, vu) => this.virtualUser(vu)));
  }
}
