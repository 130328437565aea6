import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  gql as apolloGql,
  HttpLink,
  InMemoryCache,
  type ErrorLike,
  type TypedDocumentNode,
} from '@apollo/client';
import { Observable } from 'rxjs';
import { createAuthLink } from '../../examples/apollo/refresh-link';
import { createApolloClient, logIn, logOut, me, MemoryTokenStore, signUp } from '../../examples/apollo/node-client';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD, Role, uniqueEmail, userWithRole } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';

// Apollo Client 4 in Node with the refresh link of examples/apollo, against the real server.
// Access tokens live 2 s; REFRESH_REUSE_GRACE=0s makes any second use of a refresh token a replay,
// so a client that refreshed twice with one token would end its own session.

const DEADLINE_MS = 20_000;

const COOKIE_LOGIN: TypedDocumentNode<
  { login: { accessToken: string; refreshToken: string | null; user: { id: string } } },
  { email: string; password: string }
> = apolloGql`
  mutation CookieLogin($email: String!, $password: String!) {
    login(input: { email: $email, password: $password, tokenTransport: COOKIE }) {
      accessToken
      refreshToken
      user {
        id
      }
    }
  }
`;

const ME_ID: TypedDocumentNode<{ me: { id: string } | null }, Record<string, never>> = apolloGql`
  query MeId {
    me {
      id
    }
  }
`;

let app: TestApp;

// Generous: starting the app (migrations included) is slow on a busy 2-core machine.
beforeAll(async () => {
  app = await startTestApp({ env: { ACCESS_TOKEN_TTL: '2s', REFRESH_REUSE_GRACE: '0s' } });
}, 120_000);

afterAll(() => stopApps(app));

function isTokenExpired(result: ApolloLink.Result): boolean {
  return (
    'errors' in result &&
    (result.errors ?? []).some((e) => e.extensions?.['code'] === 'UNAUTHENTICATED' && e.extensions['reason'] === 'TOKEN_EXPIRED')
  );
}

/** Counts TOKEN_EXPIRED results up to `expected`; `opened` settles on `open()` or after DEADLINE_MS. */
class Gate {
  seen = 0;
  private release: (() => void) | undefined;
  readonly opened = new Promise<void>((resolve) => {
    this.release = resolve;
    setTimeout(resolve, DEADLINE_MS).unref();
  });

  constructor(readonly expected: number) {}

  open(): void {
    this.release?.();
  }
}

/**
 * What the client sends, and a gate that holds `RefreshToken` requests until a given number of
 * TOKEN_EXPIRED results has reached the refresh link. With the gate, every concurrent failure is
 * handled while the first refresh is still in flight, whatever the timing: a link without
 * single flight then sends one refresh per failure, deterministically.
 */
class Wire {
  readonly sent: string[] = [];
  private gate: Gate | undefined;

  count(operationName: string): number {
    return this.sent.filter((name) => name === operationName).length;
  }

  /** Holds refreshes until `expected` TOKEN_EXPIRED results were delivered (bounded by DEADLINE_MS). */
  holdRefreshUntilExpired(expected: number): void {
    this.gate = new Gate(expected);
  }

  /** The body of every request sent, in order. */
  readonly bodies: { operationName?: string; variables?: Record<string, unknown> }[] = [];

  /** Given a jar, the wire keeps cookies as a browser would (Node's fetch has no cookie store). */
  constructor(private readonly jar?: Map<string, string>) {}

  readonly fetch: typeof fetch = async (input, init) => {
    const body = JSON.parse(init?.body as string) as { operationName?: string; variables?: Record<string, unknown> };
    this.bodies.push(body);
    this.sent.push(body.operationName ?? '(anonymous)');
    if (body.operationName === 'RefreshToken' && this.gate) await this.gate.opened;
    if (!this.jar) return fetch(input, init);
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const pair = must(line.split(';')[0], 'the name=value pair of a Set-Cookie');
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  };

  /** Sits below the refresh and bearer links: `observer.next` returns once the refresh link has seen the result. */
  readonly probe = new ApolloLink(
    (operation, forward) =>
      new Observable<ApolloLink.Result>((observer) => {
        const subscription = forward(operation).subscribe({
          next: (result) => {
            observer.next(result);
            if (this.gate && isTokenExpired(result) && ++this.gate.seen === this.gate.expected) this.gate.open();
          },
          error: (error: unknown) => {
            observer.error(error);
          },
          complete: () => {
            observer.complete();
          },
        });
        return () => {
          subscription.unsubscribe();
        };
      }),
  );
}

interface Client {
  client: ApolloClient;
  store: MemoryTokenStore;
  wire: Wire;
  signedOut: ErrorLike[];
}

function newClient(): Client {
  const wire = new Wire();
  const store = new MemoryTokenStore();
  const signedOut: ErrorLike[] = [];
  const uri = `${app.url}/graphql`;
  const client = createApolloClient({
    uri,
    store,
    onSignedOut: (error) => signedOut.push(error),
    httpLink: ApolloLink.from([wire.probe, new HttpLink({ uri, fetch: wire.fetch })]),
  });
  return { client, store, wire, signedOut };
}

async function signedInClient(): Promise<Client & { userId: string }> {
  const c = newClient();
  const viewer = await signUp(c.client, c.store, { email: uniqueEmail('apollo'), password: PASSWORD, name: 'Apollo' });
  return { ...c, userId: viewer.id };
}

/** Polls the server with the access token until it answers TOKEN_EXPIRED. */
async function untilExpired(accessToken: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const res = await gql(app, '{ me { id } }', {}, { token: accessToken });
    const answer = codes(res);
    if (answer.includes('UNAUTHENTICATED/TOKEN_EXPIRED')) return;
    if (Date.now() > deadline) throw new Error(`the access token did not expire in time (last answer: ${JSON.stringify(answer)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The code/reason pairs of an error the client threw. */
function reasons(error: unknown): string[] {
  if (!CombinedGraphQLErrors.is(error)) throw error;
  return error.errors.map((e) => `${String(e.extensions?.['code'])}/${String(e.extensions?.['reason'])}`);
}

/** The code/reason pairs of the GraphQL error an operation must fail with. */
async function failure(operation: Promise<unknown>): Promise<string[]> {
  const outcome = await operation.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  if (!outcome) throw new Error('the operation succeeded');
  return reasons(outcome.error);
}

async function refreshEvents(userId: string): Promise<number> {
  const admin = await userWithRole(app, Role.ADMIN);
  const res = await gql(
    app,
    'query ($userId: ID!) { auditLog(userId: $userId, first: 100) { edges { node { type } } } }',
    { userId },
    { token: admin.accessToken },
  );
  expect(res.errors).toBeUndefined();
  return res.data?.['auditLog'].edges.filter((e: any) => e.node.type === 'TOKEN_REFRESHED').length;
}

const CONCURRENT = 5;

describe('Apollo Client with the refresh link (examples/apollo)', () => {
  test('signs up, logs in and reads me with the bearer token', async () => {
    const { client, store } = newClient();
    const email = uniqueEmail('apollo');
    const created = await signUp(client, store, { email, password: PASSWORD, name: 'Ada' });
    expect(created).toMatchObject({ email, name: 'Ada', role: 'USER' });

    const loggedIn = await logIn(client, store, { email, password: PASSWORD });
    expect(loggedIn.id).toBe(created.id);
    expect(store.getAccessToken()).toEqual(expect.any(String));
    expect(store.getRefreshToken()).toEqual(expect.any(String));

    // `email` is guarded (MODERATOR, ADMIN or the user themself): the bearer token reached the server.
    await expect(me(client)).resolves.toMatchObject({ id: created.id, email, name: 'Ada', role: 'USER' });
  });

  test('concurrent operations with an expired token share one refresh, then all succeed', async () => {
    const { client, store, wire, userId, signedOut } = await signedInClient();
    const before = {
      accessToken: must(store.getAccessToken(), 'the access token'),
      refreshToken: must(store.getRefreshToken(), 'the refresh token'),
    };
    await untilExpired(before.accessToken);

    wire.sent.length = 0;
    wire.holdRefreshUntilExpired(CONCURRENT);
    // Identical queries would be deduplicated into one request by Apollo Client: turned off here.
    const viewers = await Promise.all(
      Array.from({ length: CONCURRENT }, () => client.query({ query: ME_ID, context: { queryDeduplication: false } })),
    );

    expect(viewers.map((r) => r.data?.me?.id)).toEqual(Array(CONCURRENT).fill(userId));
    expect(wire.count('RefreshToken')).toBe(1);
    // Each query went out twice: refused with the expired token, then retried once with the new one.
    expect(wire.count('MeId')).toBe(2 * CONCURRENT);
    expect(signedOut).toEqual([]);
    // The server agrees: one rotation of this user's refresh token.
    expect(await refreshEvents(userId)).toBe(1);

    // The store holds the new pair; the old refresh token is spent (a replay now ends the session).
    expect(store.getAccessToken()).not.toBe(before.accessToken);
    expect(store.getRefreshToken()).not.toBe(before.refreshToken);
    await expect(me(client)).resolves.toMatchObject({ id: userId });
  });

  test('cookie mode: the refresh is sent without argument, the rotated cookie carries the session', async () => {
    // Plays the browser: the wire keeps the HttpOnly cookie, the page (the store) never sees it.
    const jar = new Map<string, string>();
    const wire = new Wire(jar);
    const store = new MemoryTokenStore();
    const uri = `${app.url}/graphql`;
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: ApolloLink.from([
        createAuthLink({ store, transport: 'cookie' }),
        wire.probe,
        new HttpLink({ uri, fetch: wire.fetch, credentials: 'include' }),
      ]),
      defaultOptions: { query: { fetchPolicy: 'network-only' } },
    });
    const email = uniqueEmail('cookie');
    await signUp(newClient().client, new MemoryTokenStore(), { email, password: PASSWORD, name: 'Cookie' });
    const { data } = await client.mutate({ mutation: COOKIE_LOGIN, variables: { email, password: PASSWORD } });
    const login = must(data, 'the result of the cookie login').login;
    expect(login.refreshToken).toBeNull();
    store.setTokens({ accessToken: login.accessToken, refreshToken: null });
    const firstCookie = jar.get('refresh_token');
    expect(firstCookie).toEqual(expect.any(String));

    await untilExpired(must(store.getAccessToken(), 'the access token'));
    wire.holdRefreshUntilExpired(3);
    const viewers = await Promise.all(
      Array.from({ length: 3 }, () => client.query({ query: ME_ID, context: { queryDeduplication: false } })),
    );

    expect(viewers.map((r) => r.data?.me?.id)).toEqual(Array(3).fill(login.user.id));
    expect(wire.count('RefreshToken')).toBe(1);
    expect(wire.bodies.find((b) => b.operationName === 'RefreshToken')?.variables ?? {}).toEqual({});
    expect(store.getRefreshToken()).toBeNull();
    expect(jar.get('refresh_token')).toEqual(expect.any(String));
    expect(jar.get('refresh_token')).not.toBe(firstCookie);
  });

  test('after logout the client cannot refresh: me fails and the old refresh token is refused', async () => {
    const { client, store, wire, userId } = await signedInClient();
    const old = {
      accessToken: must(store.getAccessToken(), 'the access token'),
      refreshToken: must(store.getRefreshToken(), 'the refresh token'),
    };

    await logOut(client, store);
    expect(wire.count('Logout')).toBe(1);
    expect(store.getAccessToken()).toBeNull();
    expect(await failure(me(client))).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);

    // The refresh token of the ended session is refused when presented directly...
    const direct = await gql(app, 'mutation ($token: String!) { refreshToken(token: $token) { accessToken } }', {
      token: old.refreshToken,
    });
    expect(codes(direct)).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);

    // ...and through the link: a client still holding the old pair, once its access token has
    // expired, refreshes, is refused, signs out and surfaces the refusal.
    await untilExpired(old.accessToken);
    const stale = newClient();
    stale.store.setTokens(old);
    expect(await failure(me(stale.client))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    expect(stale.wire.count('RefreshToken')).toBe(1);
    expect(stale.signedOut).toHaveLength(1);
    expect(stale.store.getAccessToken()).toBeNull();
    expect(stale.store.getRefreshToken()).toBeNull();
    expect(await refreshEvents(userId)).toBe(0);
  });

  test('a refresh token replayed by someone else signs the client out once, concurrent operations included', async () => {
    const { client, store, wire, signedOut } = await signedInClient();
    // Someone else (a copy of the token) uses the refresh token first.
    const thief = await gql(app, 'mutation ($token: String!) { refreshToken(token: $token) { accessToken } }', {
      token: store.getRefreshToken(),
    });
    expect(thief.errors).toBeUndefined();
    await untilExpired(must(store.getAccessToken(), 'the access token'));

    wire.sent.length = 0;
    wire.holdRefreshUntilExpired(3);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, () => client.query({ query: ME_ID, context: { queryDeduplication: false } })),
    );

    expect(outcomes.map((o) => (o.status === 'rejected' ? reasons(o.reason).join() : 'fulfilled'))).toEqual(
      Array(3).fill('UNAUTHENTICATED/REFRESH_TOKEN_REUSED'),
    );
    expect(wire.count('RefreshToken')).toBe(1);
    expect(signedOut).toHaveLength(1);
    expect(store.getAccessToken()).toBeNull();
    // Not retried: the operations failed once each, then waited for the refused refresh.
    expect(wire.count('MeId')).toBe(3);
  });
});
