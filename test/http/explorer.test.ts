// The explorer page on GET /graphql (EXPLORER): which page each setting serves, its own CSP, the
// bundle's files from this origin, the schema of its docs with the @authorized rules of
// schema.graphql, and no page at all with EXPLORER=off or by default in production.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, type IntrospectionObjectType, type IntrospectionQuery } from 'graphql';
import { ConfigError, loadConfig } from '../../src/config/config';
import { ExplorerBundleMissing, readExplorerBundle } from '../../src/http/explorer';
import { freshDatabase, startTestApp, stopApps, testEnv, type TestApp } from '../helpers/app';
import { gql } from '../helpers/graphql';
import { must } from '../helpers/must';
import { killServerProcesses, runUntilExit, serverEnv } from '../helpers/server-process';

const ROOT = path.resolve(__dirname, '../..');
/** What a browser sends when it navigates to a URL. */
const NAVIGATION = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const browserGet = (app: TestApp, route = '/graphql'): Promise<Response> =>
  fetch(`${app.url}${route}`, { headers: { accept: NAVIGATION } });

function directives(header: string | null): Record<string, string[]> {
  return Object.fromEntries(
    must(header, 'a content-security-policy header')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [must(name, 'a directive'), values]),
  );
}

/** The same-origin files the page loads: its module scripts and stylesheets. */
function pageFiles(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)[^>]* (?:src|href)="([^"]+)"/g)].map((m) => must(m[1], 'a file'));
}

/** `@authorized(...)` of every guarded field in the committed schema.graphql, by `Type.field`. */
function rulesOfSchemaFile(): Map<string, string> {
  const rules = new Map<string, string>();
  for (const definition of parse(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8')).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) {
      const applied = field.directives?.find((d) => d.name.value === 'authorized');
      if (applied) rules.set(`${definition.name.value}.${field.name.value}`, print(applied));
    }
  }
  return rules;
}

let sandbox: TestApp;
let graphiql: TestApp;
let off: TestApp;
let production: TestApp;
let productionGraphiql: TestApp;
const PRODUCTION = { NODE_ENV: 'production', BCRYPT_COST: '10' };

// One after the other: five databases at once are slow to open on a busy machine.
beforeAll(async () => {
  sandbox = await startTestApp();
  graphiql = await startTestApp({ env: { EXPLORER: 'graphiql' } });
  off = await startTestApp({ env: { EXPLORER: 'off' } });
  production = await startTestApp({ env: PRODUCTION });
  productionGraphiql = await startTestApp({ env: { ...PRODUCTION, EXPLORER: 'graphiql' } });
}, 180_000);
afterAll(async () => {
  await stopApps(sandbox, graphiql, off, production, productionGraphiql);
  await killServerProcesses();
});

describe('outside production, by default (EXPLORER=sandbox)', () => {
  it('serves the page in sandbox mode, whose scripts, workers and requests stay on this origin except Sandbox’s CDN', async () => {
    expect(sandbox.config.explorer).toBe('sandbox');
    const res = await browserGet(sandbox);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('data-mode="sandbox"');
    const csp = directives(res.headers.get('content-security-policy'));
    expect(csp['script-src']).toEqual(["'self'", 'https://embeddable-sandbox.cdn.apollographql.com']);
    expect(csp['frame-src']).toEqual(['https://sandbox.embed.apollographql.com']);
    expect(csp['connect-src']).toEqual(["'self'"]);
    expect(csp['worker-src']).toEqual(["'self'"]);
    expect(csp['default-src']).toEqual(["'none'"]);
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    // No inline script: everything the page runs is a file of the bundle.
    expect(html).not.toMatch(/<script(?![^>]* src=)[^>]*>/);
    expect(html.match(/<script[^>]*>/g)?.length).toBeGreaterThan(0);
  });

  it('serves every file the page loads from /explorer/assets/, cacheable for good', async () => {
    const files = pageFiles(await (await browserGet(sandbox)).text());
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      expect(file).toMatch(/^\/explorer\/assets\/[\w.-]+\.(js|css)$/);
      const res = await fetch(`${sandbox.url}${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(file.endsWith('.js') ? /javascript/ : /text\/css/);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    const missing = await fetch(`${sandbox.url}/explorer/assets/nothing-here.js`);
    expect(missing.status).toBe(404);
  });

  it('leaves GraphQL requests to Apollo: GET and POST queries, whatever else Accept allows', async () => {
    const get = await fetch(`${sandbox.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/graphql-response+json, text/html;q=0.5', 'apollo-require-preflight': 'true' },
    });
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
    const post = await gql(sandbox, '{ __typename }');
    expect(post.data).toEqual({ __typename: 'Query' });
  });

  it('leaves CORS preflights to the CORS middleware', async () => {
    const origin = 'http://localhost:5173';
    const res = await fetch(`${sandbox.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    expect(res.headers.get('allow')).toBeNull();
  });
});

describe('EXPLORER=graphiql', () => {
  it('serves the page in graphiql mode with scripts from this origin only', async () => {
    const res = await browserGet(graphiql);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-mode="graphiql"');
    const csp = directives(res.headers.get('content-security-policy'));
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['frame-src']).toEqual(["'none'"]);
    expect(csp['connect-src']).toEqual(["'self'"]);
  });
});

describe('the schema of the docs pane', () => {
  let schema: IntrospectionQuery;
  beforeAll(async () => {
    const res = await fetch(`${graphiql.url}/explorer/schema.json`);
    expect(res.status).toBe(200);
    schema = ((await res.json()) as { data: IntrospectionQuery }).data;
  });

  const description = (type: string, field: string): string => {
    const found = schema.__schema.types.find((t): t is IntrospectionObjectType => t.name === type && t.kind === 'OBJECT');
    const described = must(found, type).fields.find((f) => f.name === field);
    return must(described, `${type}.${field}`).description ?? '';
  };

  it('shows every @authorized rule of schema.graphql in the description of its field, and no other', () => {
    const rules = rulesOfSchemaFile();
    expect(rules.get('Mutation.setUserRole')).toBe('@authorized(roles: [ADMIN])');
    expect(rules.size).toBeGreaterThan(20);
    for (const type of schema.__schema.types) {
      if (type.kind !== 'OBJECT' || type.name.startsWith('__')) continue;
      for (const field of type.fields) {
        const rule = rules.get(`${type.name}.${field.name}`);
        if (rule) expect(field.description).toContain(`**Authorization:** \`${rule}\``);
        else expect(field.description ?? '').not.toContain('Authorization');
      }
    }
  });

  it('says in words who is admitted, after the field’s own description', () => {
    expect(description('Mutation', 'setUserRole')).toBe(
      'Takes effect on the next request of every token of that user.\n\n' +
        '**Authorization:** `@authorized(roles: [ADMIN])`: a signed-in ADMIN; anyone else gets null and UNAUTHENTICATED or FORBIDDEN.',
    );
    expect(description('Query', 'me')).toContain('`@authorized`: any signed-in user;');
    expect(description('User', 'email')).toContain('a signed-in MODERATOR or ADMIN, or the user this field belongs to;');
  });

  it('leaves the schema clients query unchanged: introspection has no such notes', async () => {
    const res = await gql(graphiql, '{ __type(name: "Mutation") { fields { name description } } }');
    const fields = res.data?.['__type'].fields as { name: string; description: string }[];
    expect(fields.find((f) => f.name === 'setUserRole')?.description).toBe('Takes effect on the next request of every token of that user.');
  });
});

describe('no page', () => {
  async function expectNoPage(app: TestApp): Promise<void> {
    const res = await browserGet(app);
    expect(res.headers.get('content-type')).not.toMatch(/html/);
    expect(await res.text()).not.toMatch(/<html|sandbox|graphiql|apollographql/i);
    for (const route of ['/explorer/schema.json', '/explorer/assets/index.js']) {
      expect((await browserGet(app, route)).status).toBe(404);
    }
  }

  it('with EXPLORER=off', async () => {
    expect(off.config.explorer).toBe('off');
    await expectNoPage(off);
  });

  it('in production by default', async () => {
    expect(production.config.explorer).toBe('off');
    await expectNoPage(production);
  });

  it('but production may ask for GraphiQL: the page without the schema, since introspection is off', async () => {
    const res = await browserGet(productionGraphiql);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-mode="graphiql"');
    expect(directives(res.headers.get('content-security-policy'))['script-src']).toEqual(["'self'"]);
    expect((await fetch(`${productionGraphiql.url}/explorer/schema.json`)).status).toBe(404);
  });
});

describe('bad settings stop start-up, naming EXPLORER', () => {
  it.each([
    ['an unknown value', { EXPLORER: 'graphql-playground' }, 'EXPLORER must be one of sandbox, graphiql, off (got "graphql-playground")'],
    ['sandbox in production', { ...PRODUCTION, EXPLORER: 'sandbox' }, 'EXPLORER may not be sandbox in production'],
  ])('refuses %s', (_name, env, message) => {
    let thrown: unknown;
    try {
      loadConfig(testEnv({ dataDir: sandbox.dataDir, databaseUrl: undefined }, env));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe('EXPLORER');
    expect((thrown as ConfigError).message).toContain(message);
  });

  it('the server process exits with the message, before it listens', async () => {
    const database = await freshDatabase();
    try {
      const result = await runUntilExit(serverEnv(database, { PATH: process.env['PATH'], EXPLORER: 'bogus' }));
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('EXPLORER must be one of sandbox, graphiql, off (got "bogus")');
      expect(result.output).not.toContain('GraphQL API ready');
    } finally {
      await database.drop();
    }
  });

  it('refuses a mode whose bundle was never built, saying how to build it', () => {
    expect(() => readExplorerBundle('graphiql', path.join(ROOT, 'no-such-bundle'))).toThrow(ExplorerBundleMissing);
    expect(() => readExplorerBundle('graphiql', path.join(ROOT, 'no-such-bundle'))).toThrow(
      /EXPLORER=graphiql needs the explorer bundle.*npm run build/,
    );
  });
});
