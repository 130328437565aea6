// What NODE_ENV=production changes, through HTTP against a real app, next to a development app
// that shows each check can tell the two apart.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApp, stopApps, TEST_ACCESS_SECRET, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, uniqueEmail } from '../helpers/factories';
import { gql } from '../helpers/graphql';

const ALLOWED = 'https://app.example.com';
const ALSO_ALLOWED = 'https://admin.example.com';
const UNLISTED = 'https://evil.example.com';

/** A production app whose error log lines are kept for inspection. */
async function startProductionApp(): Promise<{ app: TestApp; lines: string[] }> {
  const lines: string[] = [];
  const env = { NODE_ENV: 'production', BCRYPT_COST: '10', LOG_LEVEL: 'error', CORS_ORIGINS: `${ALLOWED},${ALSO_ALLOWED}` };
  return { app: await startTestApp({ env, logLines: lines }), lines };
}

let production: TestApp;
let lines: string[];
let development: TestApp;
beforeAll(async () => {
  ({ app: production, lines } = await startProductionApp());
  development = await startTestApp({ env: { NODE_ENV: 'development' } });
});
afterAll(async () => {
  await stopApps(production, development);
});

/** Nothing in a response may look like a stack trace, SQL or library internals. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\bat .+:\d+:\d+|node_modules|stack|select |insert |relation|users_gone|pglite|postgres|mikro|Error:/i);
}

describe('introspection', () => {
  it.each([
    ['__schema', '{ __schema { queryType { name } } }'],
    ['__type', '{ __type(name: "User") { fields { name } } }'],
  ])('refuses %s in production and allows it in development', async (_name, query) => {
    const refused = await gql(production, query);
    expect(refused.status).toBe(400);
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(refused.errors?.[0]?.message).toMatch(/introspection is not allowed/);

    const allowed = await gql(development, query);
    expect(allowed.errors).toBeUndefined();
  });
});

describe('landing page', () => {
  const browserGet = (app: TestApp): Promise<Response> => fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });

  it('serves no Sandbox page in production', async () => {
    const res = await browserGet(production);
    expect(res.headers.get('content-type')).not.toMatch(/html/);
    const text = await res.text();
    expect(text).not.toMatch(/<html|sandbox|apollographql/i);
  });

  it('serves the explorer in development, Sandbox by default, and the page CSP lets through what it loads', async () => {
    const res = await browserGet(development);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-mode="sandbox"');
    const csp = directives(res.headers.get('content-security-policy'));
    // Scripts from this origin only (the bundle, test/http/explorer.test.ts), and Sandbox's from its CDN.
    expect(csp['script-src']).toEqual(["'self'", 'https://embeddable-sandbox.cdn.apollographql.com']);
    expect(csp['script-src']).not.toContain("'unsafe-inline'");
    expect(csp['frame-src']).toContain('https://sandbox.embed.apollographql.com');
    expect(csp['upgrade-insecure-requests']).toBeUndefined();
  });
});

function directives(header: string | null): Record<string, string[]> {
  expect(header).toBeTruthy();
  return Object.fromEntries(
    (header ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name, values]),
  );
}

describe('field suggestions', () => {
  it.each([
    ['a misspelled field', '{ mee { id } }', 'Cannot query field "mee" on type "Query".'],
    ['a misspelled argument', '{ users(frist: 5) { totalCount } }', 'Unknown argument "frist" on field "Query.users".'],
    ['a misspelled type', 'query ($r: Rol) { users(role: $r) { totalCount } }', 'Unknown type "Rol".'],
    ['a misspelled enum value', '{ users(role: ADMN) { totalCount } }', 'Value "ADMN" does not exist in "Role" enum.'],
    [
      'a misspelled input field',
      'mutation { login(input: { emial: "a@example.com", password: "whatever-password" }) { accessToken } }',
      'Field "emial" is not defined by type "LoginInput".',
    ],
  ])('never hints at the schema for %s, in production or development', async (_name, query, message) => {
    for (const app of [production, development]) {
      const res = await gql(app, query);
      expect(res.status).toBe(400);
      expect(res.errors?.map((e) => e.message)).toContain(message);
      expect(JSON.stringify(res.errors)).not.toMatch(/did you mean/i);
    }
  });

  it('never hints at the schema for misspellings inside variables either', async () => {
    for (const app of [production, development]) {
      const enumValue = await gql(app, 'query ($r: Role) { users(role: $r) { totalCount } }', { r: 'ADMN' });
      const inputField = await gql(app, 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }', {
        input: { emial: 'a@example.com', password: 'whatever-password' },
      });
      for (const res of [enumValue, inputField]) {
        expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(JSON.stringify(res.errors)).not.toMatch(/did you mean|ADMIN"|"email"/i);
      }
    }
  });
});

describe('security headers', () => {
  it('sends helmet headers with HSTS and a closed CSP in production, on the API and beside it', async () => {
    for (const res of [await fetch(`${production.url}/healthz`), (await gql(production, '{ __typename }')) as { headers: Headers }]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-powered-by')).toBeNull();
      const csp = directives(res.headers.get('content-security-policy'));
      expect(csp['default-src']).toEqual(["'none'"]);
      expect(csp['frame-ancestors']).toEqual(["'none'"]);
    }
  });

  it('sends no HSTS in development (plain HTTP on localhost)', async () => {
    const res = await fetch(`${development.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});

describe('CORS allowlist from CORS_ORIGINS', () => {
  const preflight = (origin: string): Promise<Response> =>
    fetch(`${production.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });

  it.each([ALLOWED, ALSO_ALLOWED])('echoes the listed origin %s with credentials, on preflight and on the request', async (origin) => {
    const pre = await preflight(origin);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    expect(pre.headers.get('vary')).toMatch(/origin/i);

    const res = await gql(production, '{ __typename }', {}, { headers: { origin } });
    expect(res.data).toEqual({ __typename: 'Query' });
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it.each([UNLISTED, 'null', `${ALLOWED}.evil.example.com`, 'http://app.example.com'])(
    'gives the unlisted origin %s no Access-Control-Allow-Origin',
    async (origin) => {
      const pre = await preflight(origin);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      const res = await gql(production, '{ __typename }', {}, { headers: { origin } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toMatch(/origin/i);
    },
  );

  it('never answers with a wildcard', async () => {
    for (const origin of [ALLOWED, UNLISTED]) {
      for (const res of [
        await preflight(origin),
        (await gql(production, '{ __typename }', {}, { headers: { origin } })) as { headers: Headers },
      ]) {
        expect(res.headers.get('access-control-allow-origin')).not.toBe('*');
      }
    }
  });
});

describe('Apollo Sandbox in development', () => {
  const STUDIO = 'https://studio.apollographql.com';

  it('offers the embedded Sandbox with cookies on, on its own origin', async () => {
    const html = await (await fetch(`${development.url}/graphql`, { headers: { accept: 'text/html' } })).text();
    // The page's entry script (explorer/src/sandbox.ts, minified) embeds Sandbox from Apollo's CDN.
    const entry = /<script type="module"[^>]* src="([^"]+)"/.exec(html)?.[1];
    const script = await (await fetch(`${development.url}${entry ?? '/missing'}`)).text();
    expect(script).toContain('https://embeddable-sandbox.cdn.apollographql.com/');
    expect(script).toMatch(/includeCookies["']?\s*:\s*(true|!0)/);
  });

  it('lets studio.apollographql.com query with a bearer token in development, not in production', async () => {
    const { accessToken } = (
      await gql(development, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, {
        input: { email: uniqueEmail('sandbox'), password: 'correct horse battery staple', name: 'Sandbox User' },
      })
    ).data?.['signup'] as { accessToken: string };
    const headers = {
      origin: STUDIO,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,authorization',
    };
    const pre = await fetch(`${development.url}/graphql`, { method: 'OPTIONS', headers });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(STUDIO);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    const me = await gql(development, '{ me { email } }', {}, { token: accessToken, headers: { origin: STUDIO } });
    expect(me.errors).toBeUndefined();
    expect(me.data?.['me']).toMatchObject({ email: expect.stringContaining('sandbox') });
    expect(me.headers.get('access-control-allow-origin')).toBe(STUDIO);

    const refused = await fetch(`${production.url}/graphql`, { method: 'OPTIONS', headers });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('errors in production', () => {
  it('applies the GraphQL limits as in development', async () => {
    const res = await gql(production, `{ ${Array.from({ length: 16 }, (_, i) => `a${String(i)}: __typename`).join(' ')} }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]).toMatchObject({
      message: 'Aliases limit of 15 exceeded, found 16.',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });

  it('answers malformed JSON without a stack trace', async () => {
    const res = await fetch(`${production.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(res.status).toBe(400);
    expectNoInternals(await res.text());
  });

  it('masks a database failure as INTERNAL_SERVER_ERROR, with no SQL or stack, and logs it with the request id', async () => {
    const signup = await gql(production, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { email: uniqueEmail('prod'), password: 'a production password', name: 'Prod' },
    });
    expect(signup.errors).toBeUndefined();
    const connection = production.app.orm.em.getConnection();
    await connection.execute('alter table "users" rename to "users_gone"');
    try {
      const requestId = 'req-production-mask-1';
      const res = await fetch(`${production.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({
          query: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
          variables: { input: { email: uniqueEmail('prod'), password: 'any password at all' } },
        }),
      });
      const text = await res.text();
      expectNoInternals(text);
      const body = JSON.parse(text) as { errors: { message: string; extensions: Record<string, unknown> }[] };
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(Object.keys(body.errors[0]?.extensions ?? {})).toEqual(['code']);
      const logged = lines.filter((line) => line.includes(requestId));
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.some((line) => JSON.parse(line).level === 50)).toBe(true);
    } finally {
      await connection.execute('alter table "users_gone" rename to "users"');
    }
  });
});

describe('the production server process', () => {
  /** Runs `src/main.ts` as the image does and returns how it ended. */
  async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-secrets-'));
    try {
      const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
        cwd: path.resolve(__dirname, '..', '..'),
        env: { PATH: process.env['PATH'], NODE_ENV: 'production', PORT: '0', DATA_DIR: dataDir, BCRYPT_COST: '10', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => {
        child.on('exit', (exitCode) => {
          resolve(exitCode);
        });
      });
      return { code, stderr };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('refuses to start without secrets', async () => {
    const { code, stderr } = await start({});
    expect(code).toBe(1);
    expect(stderr).toMatch(/JWT_ACCESS_SECRET must be set in production/);
  }, 60_000);

  it('refuses to start with a secret shorter than 32 bytes, without echoing it', async () => {
    const short = 'only-thirty-one-bytes-long-xxxx';
    expect(Buffer.byteLength(short)).toBe(31);
    const { code, stderr } = await start({ JWT_ACCESS_SECRET: TEST_ACCESS_SECRET, JWT_REFRESH_SECRET: short });
    expect(code).toBe(1);
    expect(stderr).toMatch(/JWT_REFRESH_SECRET must be at least 32 bytes long/);
    expect(stderr).not.toContain(short);
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
