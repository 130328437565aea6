// GET /metrics as Prometheus scrapes it: behind METRICS_TOKEN on the API port, or open on a port of
// its own (METRICS_PORT) and then absent from the API port; the figures move with real traffic.
import { onServer, startTestApp, stopApps, type TestApp } from '../helpers/app';
import { until } from '../helpers/eventually';
import { PASSWORD, signUp } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { login } from '../helpers/rate-limits';

const TOKEN = 'metrics-scrape-token-0123456789-abcdefghijklmnop';

async function scrape(base: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`${base}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

/** Every sample of a text exposition, by its series (`name{labels}`, labels as prom-client prints them). */
function samples(body: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

const bearer = { authorization: `Bearer ${TOKEN}` };

describe('/metrics behind METRICS_TOKEN', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      env: {
        METRICS_TOKEN: TOKEN,
        // Two logins of one account from one address, then refusals.
        RATE_LIMITS: 'login:account-ip=2/15m',
        // The outbox is not delivered during the test, so its backlog only grows.
        MAIL_POLL_INTERVAL: '1h',
      },
    });
  });
  afterAll(() => stopApps(app));

  it('answers 401 without the token or with another one, 200 with it', async () => {
    const missing = await scrape(app.url);
    expect(missing.status).toBe(401);
    expect(missing.body).not.toContain('auth_api_');
    expect((await scrape(app.url, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await scrape(app.url, { authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status).toBe(401);
    expect((await scrape(app.url, { authorization: TOKEN })).status).toBe(401);
    const ok = await scrape(app.url, bearer);
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.body).not.toContain(TOKEN);
  });

  it('moves with logins, a refused rate limit, a me and a mail in the outbox', async () => {
    const user = await signUp(app);
    const before = samples((await scrape(app.url, bearer)).body);

    expect(codes(await login(app, user.email, 'not the password at all'))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    const signedIn = await login(app, user.email, PASSWORD);
    expect(signedIn.errors).toBeUndefined();
    const accessToken = (signedIn.data as { login: { accessToken: string } }).login.accessToken;
    expect(codes(await login(app, user.email, PASSWORD))).toEqual(['RATE_LIMITED']);
    const me = await gql(app, '{ me { id } }', {}, { token: accessToken });
    expect(me.data?.['me'].id).toBe(user.id);
    expect(
      (await gql(app, 'mutation ($email: String!) { requestPasswordReset(email: $email) }', { email: user.email })).errors,
    ).toBeUndefined();

    // Latencies and HTTP counts are recorded when a response has finished, which the client may see first.
    let after = new Map<string, number>();
    const moved = (series: string): number => (after.get(series) ?? 0) - (before.get(series) ?? 0);
    await until('the five GraphQL responses in the HTTP counts', async () => {
      after = samples((await scrape(app.url, bearer)).body);
      return moved('auth_api_http_requests_total{route="/graphql",status="200"}') >= 5;
    });

    expect(moved('auth_api_logins_total{method="password",outcome="invalid_credentials"}')).toBe(1);
    expect(moved('auth_api_logins_total{method="password",outcome="success"}')).toBe(1);
    expect(moved('auth_api_logins_total{method="password",outcome="rate_limited"}')).toBe(1);
    expect(moved('auth_api_rate_limit_refusals_total{operation="login",bucket="account-ip",reason="limit"}')).toBe(1);
    expect(moved('auth_api_graphql_requests_total{operation="login",code="OK"}')).toBe(1);
    expect(moved('auth_api_graphql_requests_total{operation="login",code="UNAUTHENTICATED"}')).toBe(1);
    expect(moved('auth_api_graphql_requests_total{operation="login",code="RATE_LIMITED"}')).toBe(1);
    expect(moved('auth_api_graphql_requests_total{operation="me",code="OK"}')).toBe(1);
    expect(moved('auth_api_graphql_request_duration_seconds_count{operation="me"}')).toBe(1);
    expect(moved('auth_api_graphql_request_duration_seconds_count{operation="login"}')).toBe(3);
    // Every GraphQL request answered 200, the refused login too.
    expect(moved('auth_api_http_requests_total{route="/graphql",status="200"}')).toBe(5);
    expect(moved('auth_api_http_requests_total{route="/metrics",status="200"}')).toBeGreaterThanOrEqual(1);
    // Two comparisons (the refused login never reached bcrypt).
    expect(moved('auth_api_password_hash_queue_wait_seconds_count')).toBe(2);
    expect(after.get('auth_api_password_hash_queue_depth')).toBe(0);
    expect(after.get('auth_api_password_hash_active')).toBe(0);
    expect(moved('auth_api_mail_outbox_backlog')).toBe(1);

    expect(after.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(after.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    if (onServer) {
      expect(after.get('auth_api_db_pool_connections{state="max"}')).toBe(10);
      expect(after.get('auth_api_db_pool_connections{state="idle"}')).toBeGreaterThanOrEqual(1);
      expect(after.get('auth_api_db_pool_connections{state="waiting"}')).toBe(0);
    } else {
      expect([...after.keys()].filter((series) => series.startsWith('auth_api_db_pool'))).toEqual([]);
    }
  });

  it('labels operations by root field from the schema, never by the name a client chose', async () => {
    const names = Array.from({ length: 5 }, (_, i) => `Chosen${String(i)}${'x'.repeat(40)}`);
    for (const name of names) await gql(app, `query ${name} { authConfig { passwordMinLength } }`);
    await gql(app, '{ a: authConfig { passwordMinLength } b: authConfig { totpEnabled } }');
    await gql(app, '{ authConfig { passwordMinLength } __typename }');
    await gql(app, '{ authConfig { passwordMinLength } me { id } }');
    await gql(app, '{ notAField }');
    await gql(app, '{ unclosed');
    const body = (await scrape(app.url, bearer)).body;
    for (const name of names) expect(body).not.toContain(name);
    const after = samples(body);
    expect(after.get('auth_api_graphql_requests_total{operation="authConfig",code="OK"}')).toBe(7);
    expect(after.get('auth_api_graphql_requests_total{operation="multiple",code="UNAUTHENTICATED"}')).toBe(1);
    expect(after.get('auth_api_graphql_requests_total{operation="none",code="GRAPHQL_VALIDATION_FAILED"}')).toBe(1);
    expect(after.get('auth_api_graphql_requests_total{operation="none",code="GRAPHQL_PARSE_FAILED"}')).toBe(1);
    expect(body).not.toContain('notAField');
  });
});

describe('/metrics on METRICS_PORT', () => {
  let open: TestApp;
  let guarded: TestApp;
  beforeAll(async () => {
    [open, guarded] = await Promise.all([
      startTestApp({ env: { METRICS_PORT: '0' } }),
      // One hashing thread and no queue: logins sent together are refused as overload.
      startTestApp({
        env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN, PASSWORD_HASH_THREADS: '1', PASSWORD_HASH_QUEUE_MAX: '0', BCRYPT_COST: '12' },
      }),
    ]);
  });
  afterAll(() => stopApps(open, guarded));

  it('serves the metrics on their own port without a token, and not on the API port', async () => {
    const base = open.metricsUrl ?? '';
    expect(base).not.toBe('');
    expect(base).not.toBe(open.url);
    await signUp(open);
    const own = await scrape(base);
    expect(own.status).toBe(200);
    expect(samples(own.body).get('auth_api_graphql_requests_total{operation="signup",code="OK"}')).toBe(1);
    expect((await scrape(open.url)).status).toBe(404);
    expect((await scrape(open.url, bearer)).status).toBe(404);
    expect((await fetch(`${base}/graphql`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(404);
  });

  it('counts hashes refused for a full queue, one per SERVICE_UNAVAILABLE login', async () => {
    const base = guarded.metricsUrl ?? '';
    const before = samples((await scrape(base, bearer)).body).get('auth_api_password_hash_refusals_total{reason="queue_full"}') ?? 0;
    const answers = await Promise.all(Array.from({ length: 4 }, () => login(guarded, 'nobody@example.com', PASSWORD)));
    const refused = answers.filter((answer) => codes(answer).includes('SERVICE_UNAVAILABLE')).length;
    expect(refused).toBeGreaterThanOrEqual(1);
    const after = samples((await scrape(base, bearer)).body).get('auth_api_password_hash_refusals_total{reason="queue_full"}') ?? 0;
    expect(after - before).toBe(refused);
  });

  it('still asks for METRICS_TOKEN there when it is set too', async () => {
    const base = guarded.metricsUrl ?? '';
    expect((await scrape(base)).status).toBe(401);
    expect((await scrape(base, bearer)).status).toBe(200);
    expect((await scrape(guarded.url, bearer)).status).toBe(404);
  });
});

describe('/metrics without METRICS_TOKEN and METRICS_PORT', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production', BCRYPT_COST: '10' } });
  });
  afterAll(() => stopApps(app));

  it('is off: 404 with or without a bearer token, and no listener of its own', async () => {
    expect(app.metricsUrl).toBeUndefined();
    expect((await scrape(app.url)).status).toBe(404);
    expect((await scrape(app.url, bearer)).status).toBe(404);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });
});
