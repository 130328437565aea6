// The HTTP layer in front of Apollo (src/http/apollo-express.ts, src/http/security-headers.ts and the
// /graphql route in src/app.ts): what a client sees on the wire, on /graphql and beside it.
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { signUp, type SignedIn } from '../helpers/factories';

/** helmet's header set outside production, as it was before the headers were computed once. */
const DEVELOPMENT_HEADERS = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';" +
    "img-src 'self' data: https://apollo-server-landing-page.cdn.apollographql.com;object-src 'none';" +
    "script-src 'self' 'unsafe-inline' https://apollo-server-landing-page.cdn.apollographql.com " +
    'https://embeddable-sandbox.cdn.apollographql.com https://embeddable-explorer.cdn.apollographql.com;' +
    "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';" +
    "manifest-src 'self' https://apollo-server-landing-page.cdn.apollographql.com;" +
    "frame-src 'self' https://sandbox.embed.apollographql.com https://explorer.embed.apollographql.com",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

let app: TestApp;
let viewer: SignedIn;
beforeAll(async () => {
  app = await startTestApp();
  viewer = await signUp(app, { name: 'Wire Reader' });
});
afterAll(async () => {
  await stopApps(app);
});

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

function securityHeadersOf(response: Response): Record<string, string | null> {
  return Object.fromEntries(Object.keys(DEVELOPMENT_HEADERS).map((name) => [name, response.headers.get(name)]));
}

describe('every response', () => {
  it.each([
    ['a GraphQL POST', () => post(JSON.stringify({ query: '{ authConfig { passwordMinLength } }' }))],
    ['a GraphQL GET', () => fetch(`${app.url}/graphql?query=%7B__typename%7D`, { headers: { 'apollo-require-preflight': '1' } })],
    ['a GraphQL error', () => post(JSON.stringify({ query: '{ nope }' }))],
    ['a malformed body', () => post('{"query":')],
    ['/healthz', () => fetch(`${app.url}/healthz`)],
    ['/readyz', () => fetch(`${app.url}/readyz`)],
  ])('%s: helmet headers as before, a request id, and no ETag', async (_name, send) => {
    const response = await send();
    await response.arrayBuffer();
    expect(securityHeadersOf(response)).toEqual(DEVELOPMENT_HEADERS);
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-powered-by')).toBeNull();
  });
});

it("an unknown path: 404 with a request id and no ETag (Express's own CSP for its error page)", async () => {
  const response = await fetch(`${app.url}/nothing-here`);
  await response.arrayBuffer();
  expect(response.status).toBe(404);
  expect(response.headers.get('etag')).toBeNull();
  expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
});

describe('/graphql', () => {
  it('answers a POST with the JSON Apollo serialised, its exact length, no-store and the client request id', async () => {
    const response = await post(JSON.stringify({ query: '{ me { name } }' }), {
      authorization: `Bearer ${viewer.accessToken}`,
      'x-request-id': 'client-id-1',
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toBe('{"data":{"me":{"name":"Wire Reader"}}}\n');
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-request-id')).toBe('client-id-1');
  });

  it('serves GET queries, with operationName and variables from the search string', async () => {
    const search = new URLSearchParams({
      query: 'query A { __typename } query B($n: Int) { users(first: $n) { totalCount } }',
      operationName: 'A',
      variables: JSON.stringify({}),
    });
    const response = await fetch(`${app.url}/graphql?${search.toString()}`, { headers: { 'apollo-require-preflight': '1' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"data":{"__typename":"Query"}}\n');

    const withVariables = new URLSearchParams({ query: 'query ($b: Boolean!) { __typename @include(if: $b) }', variables: '{"b":true}' });
    const second = await fetch(`${app.url}/graphql?${withVariables.toString()}`, { headers: { 'apollo-require-preflight': '1' } });
    expect(await second.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it("keeps Apollo's CSRF prevention: a simple GET without a preflight header is refused", async () => {
    const response = await fetch(`${app.url}/graphql?query=%7B__typename%7D`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/Cross-Site Request Forgery/);
  });

  it('answers a mutation over GET with 405 and Allow: POST, as Apollo does', async () => {
    const response = await fetch(`${app.url}/graphql?query=${encodeURIComponent('mutation { logout }')}`, {
      headers: { 'apollo-require-preflight': '1' },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    await response.arrayBuffer();
  });

  it('keeps CORS for listed origins, the body limit and the JSON error for a malformed body', async () => {
    const preflight = await fetch(`${app.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');

    const tooLarge = await post(JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(110_000) } }));
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toEqual({ errors: [{ message: 'Request body too large', extensions: { code: 'BAD_REQUEST' } }] });

    const malformed = await post('{"query":');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ errors: [{ message: 'Bad request', extensions: { code: 'BAD_REQUEST' } }] });
  });
});
