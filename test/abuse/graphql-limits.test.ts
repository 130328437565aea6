// GraphQL denial-of-service limits, each through HTTP: just under the limit passes, just over is
// refused before anything runs, with a client error that names the limit (never a masked 500).
import { getIntrospectionQuery, Lexer, Source, TokenKind } from 'graphql';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { Role, userWithRole, type SignedIn } from '../helpers/factories';
import { gql, type GraphQLResponse } from '../helpers/graphql';

let app: TestApp;
let moderator: SignedIn;
let admin: SignedIn;
beforeAll(async () => {
  app = await startTestApp();
  moderator = await userWithRole(app, Role.MODERATOR);
  admin = await userWithRole(app, Role.ADMIN);
});
afterAll(async () => {
  await stopApps(app);
});

/** Lexical tokens as graphql-js counts them (comments and the end of the document excluded). */
function tokenCount(document: string): number {
  const lexer = new Lexer(new Source(document));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

function repeat(count: number, make: (index: number) => string): string {
  return Array.from({ length: count }, (_, index) => make(index)).join(' ');
}

/** Refused as a whole: HTTP 400, no data, exactly the given code, and a message naming the limit. */
function expectRefused(res: GraphQLResponse<unknown>, code: string, message: RegExp): void {
  expect(res.status).toBe(400);
  expect(res.data).toBeUndefined();
  expect(res.errors?.length).toBeGreaterThan(0);
  for (const error of res.errors ?? []) expect(error.extensions?.code).toBe(code);
  expect(res.errors?.map((e) => e.message)).toContainEqual(expect.stringMatching(message));
}

describe('aliases: at most 15 per operation, __typename included', () => {
  const aliases = (n: number): string => `{ ${repeat(n, (i) => `a${String(i)}: __typename`)} }`;

  it('runs 15 aliases', async () => {
    const res = await gql(app, aliases(15));
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(Object.keys(res.data ?? {})).toHaveLength(15);
  });

  it('refuses 16 __typename aliases', async () => {
    expectRefused(await gql(app, aliases(16)), 'GRAPHQL_VALIDATION_FAILED', /^Aliases limit of 15 exceeded, found 16\.$/);
  });

  it('counts aliases inside fragments, once per spread', async () => {
    const fragment = `fragment Eight on Query { ${repeat(8, (i) => `f${String(i)}: __typename`)} }`;
    const once = await gql(app, `{ ...Eight } ${fragment}`);
    expect(once.errors).toBeUndefined();
    expectRefused(await gql(app, `{ ...Eight ... on Query { ...Eight } } ${fragment}`), 'GRAPHQL_VALIDATION_FAILED', /found 16/);
  });

  it('refuses 16 aliases of a real field, and runs none of them', async () => {
    const res = await gql(app, `{ ${repeat(16, (i) => `m${String(i)}: me { id }`)} }`, {}, { token: moderator.accessToken });
    expectRefused(res, 'GRAPHQL_VALIDATION_FAILED', /Aliases limit of 15/);
  });

  it('applies to GET requests as well', async () => {
    const res = await fetch(`${app.url}/graphql?query=${encodeURIComponent(aliases(16))}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Aliases limit of 15 exceeded/);
  });
});

describe('directives: at most 50 per operation', () => {
  const directives = (n: number): string => `{ ${repeat(n, () => '__typename @skip(if: false)')} }`;

  it('runs 50 directives', async () => {
    const res = await gql(app, directives(50));
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ __typename: 'Query' });
  });

  it('refuses 51 directives', async () => {
    expectRefused(await gql(app, directives(51)), 'GRAPHQL_VALIDATION_FAILED', /^Directives limit of 50 exceeded, found 51\.$/);
  });
});

describe('tokens: at most 1000 per document, refused by the parser', () => {
  /** Named operations of 5 tokens each, padded to exactly `tokens`; the first one runs. */
  function documentOf(tokens: number): string {
    const operations = Math.floor(tokens / 5);
    const padding = repeat(tokens % 5, () => '__typename');
    const document = `query Q0 { __typename ${padding} } ${repeat(operations - 1, (i) => `query Q${String(i + 1)} { __typename }`)}`;
    expect(tokenCount(document)).toBe(tokens);
    return document;
  }

  it('runs a document of 1000 tokens', async () => {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: documentOf(1000), operationName: 'Q0' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a document of 1001 tokens', async () => {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: documentOf(1001), operationName: 'Q0' }),
    });
    const body = (await res.json()) as GraphQLResponse<unknown>;
    expectRefused({ ...body, status: res.status }, 'GRAPHQL_PARSE_FAILED', /more th\w+ 1000 tokens/);
  });
});

describe('depth: at most 6 levels, introspection exempt', () => {
  /** `levels - 1` nested inline fragments around __typename: each fragment is a level. */
  function nested(levels: number): string {
    let selection = '__typename';
    for (let i = 1; i < levels; i++) selection = `... on Query { ${selection} }`;
    return `{ ${selection} }`;
  }

  it('runs a query of depth 6', async () => {
    const res = await gql(app, nested(6));
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ __typename: 'Query' });
  });

  it('refuses a query of depth 7', async () => {
    expectRefused(await gql(app, nested(7)), 'GRAPHQL_VALIDATION_FAILED', /^Query depth limit of 6 exceeded, found 7\.$/);
  });

  it('runs the deepest query a client needs: a connection with a fragment on its nodes', async () => {
    const res = await gql(
      app,
      `{ users(first: 2) { edges { node { ...Row } } } } fragment Row on User { id name email role }`,
      {},
      { token: moderator.accessToken },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.['users'].edges.length).toBeGreaterThan(0);
  });

  it("runs Apollo Sandbox's introspection query, deeper than 6 but introspection only", async () => {
    const query = getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true });
    const res = await gql(app, query);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['__schema'].queryType).toMatchObject({ name: 'Query' });
  });
});

describe('cost: at most 5000 per operation', () => {
  // Each field costs 1; a paginated field counts what it selects `first` times (or its default).
  const usersPage = `users(first: 100) { totalCount pageInfo { hasNextPage } edges { node { id name email role } } }`; // 1 + 100 * 9 = 901

  it('counts a page size sent in a variable: 5000 passes the limit, 5001 does not', async () => {
    const query = `query ($n: Int) { users(first: $n) { totalCount } }`; // 1 + n
    const within = await gql(app, query, { n: 4999 }, { token: moderator.accessToken });
    // Past the cost limit, the page-size rule (at most 100) answers: the operation did run.
    expect(within.status).toBe(200);
    expect(within.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { first: expect.any(String) } });

    const over = await gql(app, query, { n: 5000 }, { token: moderator.accessToken });
    expectRefused(over, 'GRAPHQL_VALIDATION_FAILED', /^Query cost limit of 5000 exceeded, found 5001\.$/);
  });

  it('runs five full pages of users (4505) and refuses six (5406)', async () => {
    const five = await gql(app, `{ ${repeat(5, (i) => `p${String(i)}: ${usersPage}`)} }`, {}, { token: moderator.accessToken });
    expect(five.errors).toBeUndefined();
    expect(Object.keys(five.data ?? {})).toHaveLength(5);
    const six = await gql(app, `{ ${repeat(6, (i) => `p${String(i)}: ${usersPage}`)} }`, {}, { token: moderator.accessToken });
    expectRefused(six, 'GRAPHQL_VALIDATION_FAILED', /found 5406/);
  });

  it("counts a connection's default page size when first is not given", async () => {
    // auditLog's default page is 50: 1 + 50 * (1 + 1 + 10) = 601 each.
    const auditPage = `auditLog { edges { node { id type actorId subjectId sessionId ip userAgent detail createdAt __typename } } }`;
    const eight = await gql(app, `{ ${repeat(8, (i) => `l${String(i)}: ${auditPage}`)} }`, {}, { token: admin.accessToken });
    expect(eight.errors).toBeUndefined();
    const nine = await gql(app, `{ ${repeat(9, (i) => `l${String(i)}: ${auditPage}`)} }`, {}, { token: admin.accessToken });
    expectRefused(nine, 'GRAPHQL_VALIDATION_FAILED', /found 5409/);
  });
});

describe('fragment cycles', () => {
  it.each([
    ['a fragment spreading itself', `{ ...A } fragment A on Query { __typename ...A }`],
    ['two fragments spreading each other', `{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A }`],
  ])('refuses %s', async (_name, query) => {
    expectRefused(await gql(app, query), 'GRAPHQL_VALIDATION_FAILED', /^Cannot spread fragment "A" within itself/);
  });
});

describe('HTTP batching is off', () => {
  it('refuses an array of operations and runs none', async () => {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain('"__typename"');
    const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors).toEqual([
      expect.objectContaining({ message: 'Operation batching disabled.', extensions: { code: 'BAD_REQUEST' } }),
    ]);
  });
});
