// Queries Apollo has seen before run compiled by graphql-jit (GRAPHQL_JIT, on by default). The first
// run of a document goes through graphql-js, later runs through the compiled query: each case below
// sends the same request several times and requires every answer to be byte-for-byte the first one,
// and the app's trace log (matched by x-request-id) to show which path each later request took.
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { Role, signUp, userWithRole, type SignedIn } from '../helpers/factories';
import { logEntriesOf, postRaw, type RawReply } from '../helpers/graphql';

const COMPILED = 'graphql operation ran compiled';
const HANDED_BACK = 'graphql compiled run handed back to Apollo';

let app: TestApp;
let plain: TestApp;
const logLines: string[] = [];
let user: SignedIn;
let moderator: SignedIn;

beforeAll(async () => {
  [app, plain] = await Promise.all([
    startTestApp({ env: { LOG_LEVEL: 'trace' }, logLines }),
    startTestApp({ env: { LOG_LEVEL: 'trace', GRAPHQL_JIT: 'false' }, logLines }),
  ]);
  user = await signUp(app, { name: 'Plain User' });
  moderator = await userWithRole(app, Role.MODERATOR);
});
afterAll(async () => {
  await stopApps(app, plain);
});

/** One POST, answered as raw text; a fresh x-request-id ties it to what the app logged. */
function post(target: TestApp, query: string, variables?: Record<string, unknown>, token?: string): Promise<RawReply> {
  return postRaw(target, variables ? { query, variables } : { query }, { token });
}

/** The messages the app logged for one request. */
function loggedFor(requestId: string): string[] {
  return logEntriesOf(logLines, requestId).map((entry) => entry.msg ?? '');
}

/** Sends the same request `times` times: every answer must equal the first, byte for byte. */
async function sameEveryTime(target: TestApp, times: number, query: string, variables?: Record<string, unknown>, token?: string) {
  const replies: RawReply[] = [];
  for (let i = 0; i < times; i++) replies.push(await post(target, query, variables, token));
  const [first, ...later] = replies;
  if (!first) throw new Error('no reply');
  for (const reply of later) expect({ status: reply.status, text: reply.text }).toEqual({ status: first.status, text: first.text });
  return { first, later, body: JSON.parse(first.text) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] } };
}

describe('compiled path: taken for reused queries, with the same answers', () => {
  it('runs a query through graphql-js the first time and compiled from the second on', async () => {
    const { first, later, body } = await sameEveryTime(app, 3, '{ authConfig { passwordMinLength totpEnabled } }');
    expect(body.errors).toBeUndefined();
    expect(loggedFor(first.requestId)).not.toContain(COMPILED);
    for (const reply of later) expect(loggedFor(reply.requestId)).toContain(COMPILED);
  });

  it('never compiles with GRAPHQL_JIT=false', async () => {
    const { first, later } = await sameEveryTime(plain, 4, '{ authConfig { passwordMinLength totpEnabled } }');
    for (const reply of [first, ...later]) expect(loggedFor(reply.requestId)).not.toContain(COMPILED);
  });

  it('never compiles a mutation', async () => {
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await post(app, 'mutation { logout }', undefined, 'not-a-token'));
    for (const reply of replies) expect(loggedFor(reply.requestId)).not.toContain(COMPILED);
  });

  it('refuses an operation name the document lacks as Apollo does (it was a 500 with the compiled path on)', async () => {
    const query = 'query Mine { authConfig { passwordMinLength } }';
    const body = JSON.stringify({ query, operationName: 'Theirs' });
    const send = async (target: TestApp): Promise<{ status: number; text: string }> => {
      const response = await fetch(`${target.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: response.status, text: await response.text() };
    };
    const expected = await send(plain);
    expect(expected.status).toBe(400);
    expect(expected.text).toContain('OPERATION_RESOLUTION_FAILURE');
    for (let i = 0; i < 3; i++) expect(await send(app)).toEqual(expected);
  });

  it('answers a field-level FORBIDDEN with partial data on the compiled path', async () => {
    const query = '{ me { id name email isActive lastLoginAt } authConfig { passwordMinLength } }';
    const { later, body } = await sameEveryTime(app, 3, query, undefined, user.accessToken);
    for (const reply of later) expect(loggedFor(reply.requestId)).toContain(COMPILED);
    expect(body.data).toEqual({
      me: { id: user.id, name: 'Plain User', email: user.email, isActive: null, lastLoginAt: null },
      authConfig: { passwordMinLength: expect.any(Number) },
    });
    expect(body.errors).toEqual([
      {
        message: 'You are not allowed to do this',
        extensions: { code: 'FORBIDDEN' },
        locations: [{ line: 1, column: query.indexOf('isActive') + 1 }],
        path: ['me', 'isActive'],
      },
      {
        message: 'You are not allowed to do this',
        extensions: { code: 'FORBIDDEN' },
        locations: [{ line: 1, column: query.indexOf('lastLoginAt') + 1 }],
        path: ['me', 'lastLoginAt'],
      },
    ]);
  });
});

describe('errors: identical with and without the compiled path', () => {
  type Path = 'compiled' | 'handed back';
  type Viewer = () => string | undefined;
  const anonymous: Viewer = () => undefined;
  const badToken: Viewer = () => 'not-a-token';
  const cases: [string, string, Record<string, unknown> | undefined, Viewer, Path][] = [
    [
      'UNAUTHENTICATED on a root field, its sibling intact',
      '{ me { id } authConfig { passkeysEnabled } }',
      undefined,
      anonymous,
      'compiled',
    ],
    [
      'UNAUTHENTICATED through aliases and a fragment',
      'query Q { a: me { ...F } b: me { id } } fragment F on User { id name }',
      undefined,
      badToken,
      'compiled',
    ],
    ['FORBIDDEN on an operation', '{ users(first: 1) { totalCount } }', undefined, () => user.accessToken, 'compiled'],
    [
      'FORBIDDEN on several fields of one object',
      '{ me { email emailVerified mfaEnabled isActive lastLoginAt } }',
      undefined,
      () => user.accessToken,
      'compiled',
    ],
    [
      'a resolver error (page size over the cap)',
      'query ($n: Int) { users(first: $n) { totalCount } }',
      { n: 101 },
      () => moderator.accessToken,
      'compiled',
    ],
    [
      'a resolver error on a bad cursor',
      '{ users(first: 1, after: "not a cursor") { totalCount } }',
      undefined,
      () => moderator.accessToken,
      'compiled',
    ],
    ['a variable of the wrong type', 'query ($n: Int) { users(first: $n) { totalCount } }', { n: 'ten' }, anonymous, 'handed back'],
    ['a required variable missing', 'query ($id: ID!) { user(id: $id) { id } }', undefined, anonymous, 'handed back'],
    [
      'a password in a variable of the wrong type',
      'query ($n: Int) { users(first: $n) { totalCount } }',
      { n: { password: 'hunter2-secret' } },
      anonymous,
      'handed back',
    ],
  ];

  it.each(cases)('%s', async (_name, query, variables, viewer, path) => {
    const { first, later, body } = await sameEveryTime(app, 3, query, variables, viewer());
    expect(body.errors?.length).toBeGreaterThan(0);
    expect(loggedFor(first.requestId)).not.toContain(COMPILED);
    for (const reply of later) expect(loggedFor(reply.requestId)).toContain(path === 'compiled' ? COMPILED : HANDED_BACK);
    // Without a signed-in viewer the answer depends on nothing stored: the app without the compiled
    // path (another database) must answer the very same bytes.
    if (viewer === anonymous || viewer === badToken) {
      const other = await post(plain, query, variables, viewer());
      expect({ status: other.status, text: other.text }).toEqual({ status: first.status, text: first.text });
    }
  });

  it('the field-level FORBIDDEN answer is the one graphql-js gives for the same rows', async () => {
    // Same viewer shape on the app without the compiled path: only ids and emails differ.
    const other = await signUp(plain, { name: 'Plain User' });
    const query = '{ me { name email isActive lastLoginAt role } }';
    const compiled = await sameEveryTime(app, 3, query, undefined, user.accessToken);
    const executed = await post(plain, query, undefined, other.accessToken);
    expect(executed.text.replace(other.email, '<email>')).toBe(compiled.first.text.replace(user.email, '<email>'));
  });
});

describe('limits: still applied to queries that run compiled', () => {
  const repeat = (count: number, make: (index: number) => string): string => Array.from({ length: count }, (_, i) => make(i)).join(' ');

  /** Refused before execution, the same way each time, and never run compiled. */
  async function refusedEveryTime(query: string, message: RegExp, variables?: Record<string, unknown>, token?: string): Promise<void> {
    const { first, later, body } = await sameEveryTime(app, 3, query, variables, token);
    expect(first.status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(first.text).toMatch(message);
    for (const reply of later) expect(loggedFor(reply.requestId)).not.toContain(COMPILED);
  }

  it('depth', async () => {
    let selection = 'me { id }';
    for (let i = 0; i < 5; i++) selection = `... on Query { ${selection} }`;
    await refusedEveryTime(`{ ${selection} }`, /Query depth limit of 6 exceeded, found 7\./, undefined, user.accessToken);
  });

  it('aliases', async () => {
    await refusedEveryTime(
      `{ ${repeat(16, (i) => `m${String(i)}: me { id }`)} }`,
      /Aliases limit of 15 exceeded, found 16\./,
      undefined,
      user.accessToken,
    );
  });

  it('directives per operation, and per location', async () => {
    await refusedEveryTime(
      `{ ${repeat(51, () => '__typename @skip(if: false)')} }`,
      /Directives limit of 50 exceeded, found 51\./,
      undefined,
      user.accessToken,
    );
    await refusedEveryTime('{ me @include(if: true) @include(if: true) { id } }', /repeated at one location/, undefined, user.accessToken);
  });

  it('cost, with the page size in a variable of a document already compiled', async () => {
    const query = 'query ($n: Int) { users(first: $n) { totalCount edges { node { id } } } }'; // 1 + n * 4
    const small = await sameEveryTime(app, 3, query, { n: 2 }, moderator.accessToken);
    expect(small.body.errors).toBeUndefined();
    for (const reply of small.later) expect(loggedFor(reply.requestId)).toContain(COMPILED);
    const over = await post(app, query, { n: 1250 }, moderator.accessToken);
    expect(over.status).toBe(400);
    expect(over.text).toMatch(/Query cost limit of 5000 exceeded, found 5001\./);
    expect(loggedFor(over.requestId)).not.toContain(COMPILED);
  });
});
