// A query sent a third time (same text, same operation name, no variables) is answered without
// Apollo's request pipeline (src/graphql/reused-queries.ts). It must answer what Apollo answers, byte
// for byte and head for head, see revocation on the very next request, still count in the metrics and
// the access log, and leave to Apollo everything it does not serve.
import { randomUUID } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { signUp, type SignedIn } from '../helpers/factories';
import { logEntriesOf, postRaw, type RawReply } from '../helpers/graphql';
import { must } from '../helpers/must';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789-abcdefghijklmnop';

let app: TestApp;
let plain: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  [app, plain] = await Promise.all([
    startTestApp({ env: { LOG_LEVEL: 'trace', METRICS_TOKEN }, logLines }),
    startTestApp({ env: { LOG_LEVEL: 'trace', GRAPHQL_JIT: 'false' }, logLines }),
  ]);
});
afterAll(async () => {
  await stopApps(app, plain);
});

interface PostOptions {
  readonly token?: string;
  readonly accept?: string;
  /** The body as sent; `{ query }` when omitted. */
  readonly body?: Record<string, unknown>;
}

function post(target: TestApp, query: string, options: PostOptions = {}): Promise<RawReply> {
  return postRaw(target, options.body ?? { query }, options);
}

/** Whether the request was answered by the reused path (its trace line says so). */
function reused(reply: RawReply): boolean {
  return logEntriesOf(logLines, reply.requestId).some(
    (entry) => entry.msg === 'graphql operation ran compiled' && entry['reused'] === true,
  );
}

/** What a client can see of an answer: status, content type, Retry-After and the body's bytes. */
function seen(reply: RawReply): Omit<RawReply, 'requestId'> {
  return { status: reply.status, contentType: reply.contentType, retryAfter: reply.retryAfter, text: reply.text };
}

async function times(n: number, target: TestApp, query: string, options: PostOptions = {}): Promise<RawReply[]> {
  const replies: RawReply[] = [];
  for (let i = 0; i < n; i++) replies.push(await post(target, query, options));
  return replies;
}

describe('reused queries: answered as Apollo answers them', () => {
  const QUERY = '{ authConfig { passwordMinLength totpEnabled } }';

  it.each([
    ['no Accept header', undefined, 'a'],
    ['application/json', 'application/json', 'b'],
    ['a GraphQL client', 'application/graphql-response+json, application/json;q=0.9', 'c'],
    ['anything', '*/*', 'd'],
  ])('serves the third request on, with the same bytes and head as Apollo (%s)', async (_name, accept, alias) => {
    // A text of its own: each case starts with a query the app has not seen.
    const query = `{ ${alias}: authConfig { passwordMinLength totpEnabled } }`;
    const replies = await times(4, app, query, accept ? { accept } : {});
    const apollo = await post(plain, query, accept ? { accept } : {});
    expect(replies.map(reused)).toEqual([false, false, true, true]);
    for (const reply of replies) expect(seen(reply)).toEqual(seen(apollo));
    expect(apollo.status).toBe(200);
  });

  it('leaves an Accept that Apollo refuses (406) to Apollo', async () => {
    const replies = await times(4, app, QUERY, { accept: 'text/html' });
    const apollo = await post(plain, QUERY, { accept: 'text/html' });
    expect(apollo.status).toBe(406);
    for (const reply of replies) {
      expect(reused(reply)).toBe(false);
      expect(seen(reply)).toEqual(seen(apollo));
    }
  });

  it('answers field-level FORBIDDEN with partial data, and sees a revoked session on the very next request', async () => {
    // The same steps on both apps: signed up, `me` with a guarded field of another user's list, logout.
    const steps = async (target: TestApp, user: SignedIn): Promise<{ before: RawReply[]; after: RawReply }> => {
      const query = '{ me { role } users(first: 1) { totalCount } }';
      const before = await times(3, target, query, { token: user.accessToken });
      const logout = await post(target, 'mutation { logout }', { token: user.accessToken });
      expect(logout.status).toBe(200);
      return { before, after: await post(target, query, { token: user.accessToken }) };
    };
    const [onApp, onPlain] = await Promise.all([steps(app, await signUp(app)), steps(plain, await signUp(plain))]);
    expect(onApp.before.map(reused)).toEqual([false, false, true]);
    expect(reused(onApp.after)).toBe(true);
    const forbidden = JSON.parse(onApp.before[2]?.text ?? '{}') as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    expect(forbidden.data).toEqual({ me: { role: 'USER' }, users: null });
    expect(forbidden.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    for (const [i, reply] of onApp.before.entries()) expect(seen(reply)).toEqual(seen(must(onPlain.before[i], 'the same step on Apollo')));
    expect(seen(onApp.after)).toEqual(seen(onPlain.after));
    expect(onApp.after.text).toContain('TOKEN_REVOKED');
  });
});

describe('reused queries: what stays with Apollo', () => {
  const QUERY = 'query Settings { authConfig { passwordMinLength } }';

  beforeAll(async () => {
    const warm = await times(3, app, QUERY);
    expect(reused(must(warm[2], 'the third request'))).toBe(true);
  });

  it.each([
    ['variables', { query: QUERY, variables: { unused: 1 } }],
    ['extensions', { query: QUERY, extensions: {} }],
    ['another operation name', { query: QUERY, operationName: 'Other' }],
    ['an operation name that is not a string', { query: QUERY, operationName: 7 }],
  ])('a body with %s', async (_name, body) => {
    const [reply, apollo] = await Promise.all([post(app, QUERY, { body }), post(plain, QUERY, { body })]);
    expect(reused(reply)).toBe(false);
    expect(seen(reply)).toEqual(seen(apollo));
  });

  it('a GET', async () => {
    const requestId = randomUUID();
    const response = await fetch(`${app.url}/graphql?query=${encodeURIComponent(QUERY)}`, {
      headers: { 'x-request-id': requestId, 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { authConfig: { passwordMinLength: expect.any(Number) } } });
    expect(reused({ status: 200, contentType: null, retryAfter: null, text: '', requestId })).toBe(false);
  });
});

describe('reused queries: counted like any other', () => {
  it('in the access log and the metrics, and the empty variables a client sends are no obstacle', async () => {
    const query = '{ authConfig { webauthnEnabled: totpEnabled } }';
    const scrape = async (): Promise<number> => {
      const response = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      const line = (await response.text())
        .split('\n')
        .find((l) => l.startsWith('auth_api_graphql_requests_total{operation="authConfig",code="OK"}'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await scrape();
    const replies = await times(5, app, query, { body: { query, variables: {} } });
    expect(replies.map(reused)).toEqual([false, false, true, true, true]);
    expect(await scrape()).toBe(before + 5);
    const last = must(replies[4], 'the last request');
    await until('the access-log line of the last request', () =>
      Promise.resolve(logEntriesOf(logLines, last.requestId).some((entry) => entry.msg === 'request')),
    );
    const line = logEntriesOf(logLines, last.requestId).find((entry) => entry.msg === 'request');
    expect(line).toMatchObject({ operation: 'authConfig', status: 200 });
  });
});
