import { startTestApp, type TestApp } from '../helpers/app';
import { gql, type GraphQLResponse } from '../helpers/graphql';

/**
 * A request within every size limit must not make the server validate, format and send a long
 * list of errors: validation stops after a few errors (then one "too many" error), and repeated
 * or piled-up directives at one location are refused by one error before the other rules run.
 */

/** Validation errors a response may carry: VALIDATION_ERROR_CAP, then one saying there were more. */
const MAX_ERRORS = 6;

const repeat = (n: number, text: string, separator = ''): string => Array.from({ length: n }, () => text).join(separator);

let production: TestApp;
let development: TestApp;

beforeAll(async () => {
  [production, development] = await Promise.all([
    startTestApp({ env: { NODE_ENV: 'production', BCRYPT_COST: '10', LOG_LEVEL: 'error' } }),
    startTestApp({ env: { NODE_ENV: 'development' } }),
  ]);
});

afterAll(async () => {
  await Promise.all([production.stop(), development.stop()]);
});

function expectRefused(response: GraphQLResponse<unknown>, count: { atMost: number } | { exactly: number }): void {
  expect(response.status).toBe(400);
  expect(response.data).toBeUndefined();
  const errors = response.errors ?? [];
  if ('exactly' in count) expect(errors).toHaveLength(count.exactly);
  else expect(errors.length).toBeLessThanOrEqual(count.atMost);
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
}

describe.each([
  ['production', () => production],
  ['development', () => development],
])('in %s', (_mode, app) => {
  it('refuses ten repeated unknown directives on one field with one error', async () => {
    const response = await gql(app(), `{ __typename ${repeat(10, '@aa')} }`);
    expectRefused(response, { exactly: 1 });
    expect(response.errors?.[0]?.message).toMatch(/repeated|directives/i);
  });

  it('refuses 200 repeated directives with one error', async () => {
    expectRefused(await gql(app(), `{ __typename ${repeat(200, '@aa')} }`), { exactly: 1 });
  });

  it('refuses 40 repeated @include with one error', async () => {
    expectRefused(await gql(app(), `{ __typename ${repeat(40, '@include(if: true)')} }`), { exactly: 1 });
  });

  it('refuses more than a few different directives on one field with one error', async () => {
    const response = await gql(app(), '{ __typename @a1 @a2 @a3 @a4 @a5 @a6 }');
    expectRefused(response, { exactly: 1 });
  });

  it('stops validating 400 unknown fields after a few errors', async () => {
    const response = await gql(app(), `{ ${repeat(400, 'a', ' ')} }`);
    expectRefused(response, { atMost: MAX_ERRORS });
    expect(response.errors?.at(-1)?.message).toMatch(/too many/i);
  });

  it('still runs a valid query with a few directives', async () => {
    const response = await gql(app(), '{ __typename @include(if: true) @skip(if: false) a: __typename @skip(if: true) }');
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ __typename: 'Query' });
  });

  it('still answers a few genuine mistakes with one error each', async () => {
    const response = await gql(app(), '{ nope1 nope2 }');
    expectRefused(response, { exactly: 2 });
  });
});
