// Admission control, over HTTP against the real app: password hashing (the work an attacker piles
// up cheapest) has a bounded queue, refused at once with SERVICE_UNAVAILABLE, `retryAfter`, 503 and
// Retry-After; a queued hash whose client left never runs; and the server as a whole handles at
// most MAX_REQUESTS_IN_FLIGHT requests, refusing the next at once while the probes still answer.
import http from 'node:http';
import net from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app';
import { pollUntil, until } from '../helpers/eventually';
import { PASSWORD, signUp } from '../helpers/factories';
import { gql } from '../helpers/graphql';

const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }';

/** A cost at which each hash takes a good fraction of a second, so a burst finds the one thread busy. */
const SLOW_COST = '12';

describe('the password hashing queue', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      env: { BCRYPT_COST: SLOW_COST, PASSWORD_HASH_THREADS: '1', PASSWORD_HASH_QUEUE_MAX: '1', PASSWORD_HASH_QUEUE_TIMEOUT: '2m' },
    });
  });

  afterAll(async () => {
    await app.stop();
  });

  it('refuses logins beyond the queue at once with SERVICE_UNAVAILABLE, retryAfter, 503 and Retry-After; the rest succeed', async () => {
    const { email } = await signUp(app);
    const responses = await Promise.all(Array.from({ length: 12 }, () => gql(app, LOGIN, { input: { email, password: PASSWORD } })));

    const refused = responses.filter((response) => response.status === 503);
    const served = responses.filter((response) => response.status === 200);
    expect(refused.length + served.length).toBe(responses.length);
    // One thread and one place in the queue: of twelve at once, most cannot be admitted.
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    for (const response of refused) {
      expect(response.data).toBeNull();
      expect(response.errors).toHaveLength(1);
      const extensions = response.errors?.[0]?.extensions;
      expect(extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(extensions?.['retryAfter']).toEqual(expect.any(Number));
      expect(extensions?.['retryAfter']).toBeGreaterThanOrEqual(1);
      expect(response.headers.get('retry-after')).toBe(String(extensions?.['retryAfter']));
    }
    for (const response of served) {
      expect(response.errors).toBeUndefined();
      expect(response.data?.['login'].accessToken).toEqual(expect.any(String));
    }
  }, 120_000);
});

describe('logins whose clients leave', () => {
  let app: TestApp;
  const logLines: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({
      logLines,
      env: {
        LOG_LEVEL: 'debug',
        BCRYPT_COST: SLOW_COST,
        PASSWORD_HASH_THREADS: '1',
        PASSWORD_HASH_QUEUE_MAX: '50',
        PASSWORD_HASH_QUEUE_TIMEOUT: '2m',
      },
    });
  });

  afterAll(async () => {
    await app.stop();
  });

  /**
   * A login POST that is abandoned once the server has all of it: sent with `Expect: 100-continue`
   * (Node answers `100 Continue` when it hands the request to the application), then the whole
   * body, then the connection is closed without waiting for the answer.
   */
  function abandonedLogin(email: string): Promise<void> {
    const port = Number(new URL(app.url).port);
    const body = JSON.stringify({ query: LOGIN, variables: { input: { email, password: PASSWORD } } });
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      });
      req.on('error', () => undefined);
      req.once('response', () => {
        reject(new Error('the login was answered before its client left'));
      });
      req.once('continue', () => {
        req.end(body, () => {
          req.destroy();
          resolve();
        });
      });
      req.flushHeaders();
    });
  }

  const cancelled = (): number => logLines.filter((line) => line.includes('the client left')).length;

  it('drops the queued comparisons of clients that left, and a new login is answered', async () => {
    const { email } = await signUp(app);
    // One login keeps the only thread busy; six more queue behind it, and their clients leave.
    const first = gql(app, LOGIN, { input: { email, password: PASSWORD } });
    await Promise.all(Array.from({ length: 6 }, () => abandonedLogin(email)));

    // Each is dropped (the log says so at debug level); at most one may have found the thread free.
    await until('the abandoned logins to be dropped', async () => cancelled() >= 5, 60_000);
    expect((await first).data?.['login'].accessToken).toEqual(expect.any(String));
    const fresh = await gql(app, LOGIN, { input: { email, password: PASSWORD } });
    expect(fresh.errors).toBeUndefined();
    expect(fresh.data?.['login'].accessToken).toEqual(expect.any(String));
  }, 120_000);
});

describe('requests in flight', () => {
  let app: TestApp;

  beforeAll(async () => {
    // Logins hold their slot while they hash, one at a time and slowly: two of them fill the cap.
    app = await startTestApp({
      env: {
        MAX_REQUESTS_IN_FLIGHT: '2',
        BCRYPT_COST: '14',
        PASSWORD_HASH_THREADS: '1',
        PASSWORD_HASH_QUEUE_MAX: '10',
        PASSWORD_HASH_QUEUE_TIMEOUT: '5m',
      },
    });
  });

  afterAll(async () => {
    await app.stop();
  });

  /**
   * A POST whose body has not all arrived: it holds a connection until `finish()` sends the rest.
   * `continued` settles once the server has handed it to the application (Node answers
   * `100 Continue` in that step), so it is surely there before whatever the test sends next.
   */
  function stalledRequest(): { continued: Promise<void>; finish(): void; answer: Promise<string> } {
    const body = JSON.stringify({ query: '{ __typename }' });
    const socket = net.connect(Number(new URL(app.url).port), '127.0.0.1');
    let text = '';
    let onText = (): void => undefined;
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      onText();
    });
    const continued = new Promise<void>((resolve) => {
      onText = () => {
        if (text.startsWith('HTTP/1.1 100 Continue')) resolve();
      };
    });
    const answer = new Promise<string>((resolve, reject) => {
      socket.once('close', () => {
        resolve(text);
      });
      socket.once('error', reject);
    });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n` +
        `Expect: 100-continue\r\nContent-Length: ${String(Buffer.byteLength(body))}\r\n\r\n`,
    );
    void continued.then(() => socket.write(body.slice(0, 5)));
    return { continued, finish: () => socket.write(body.slice(5)), answer };
  }

  it('does not let clients that stall their bodies take the slots', async () => {
    const stalled = [stalledRequest(), stalledRequest(), stalledRequest()];
    await Promise.all(stalled.map((request) => request.continued));
    // Three requests at the server, more than the cap, but none has its body: a new one is served.
    const probe = await gql(app, '{ __typename }');
    expect(probe.status).toBe(200);
    expect(probe.data).toEqual({ __typename: 'Query' });
    for (const request of stalled) request.finish();
    for (const answer of await Promise.all(stalled.map((request) => request.answer))) {
      expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    }
  }, 60_000);

  it('answers 503 with Retry-After at once beyond MAX_REQUESTS_IN_FLIGHT, still answers the probes, then admits again', async () => {
    const { email } = await signUp(app);
    const logins = [1, 2].map(() => gql(app, LOGIN, { input: { email, password: PASSWORD } }));

    const refusal = await pollUntil(
      'a request beyond the cap to be refused',
      async () => {
        const response = await gql(app, '{ __typename }');
        return response.status === 503 ? response : undefined;
      },
      60_000,
      20,
    );
    expect(refusal.headers.get('retry-after')).toBe('1');
    expect(refusal.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1 });
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);

    for (const login of await Promise.all(logins)) {
      expect(login.errors).toBeUndefined();
      expect(login.data?.['login'].accessToken).toEqual(expect.any(String));
    }
    const after = await gql(app, '{ __typename }');
    expect(after.status).toBe(200);
    expect(after.data).toEqual({ __typename: 'Query' });
  }, 180_000);
});
