import { createHash } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, Role, signUp, uniqueEmail, userWithRole } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';

/**
 * Ordinary client input must never provoke a server error: it is validated away as BAD_USER_INPUT
 * (or answered with the protocol's own code), is never logged as a failure, and never leaves half
 * an operation behind.
 */

const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;

let app: TestApp;
let proxied: TestApp;
const logLines: string[] = [];
const proxiedLog: string[] = [];

beforeAll(async () => {
  [app, proxied] = await Promise.all([
    startTestApp({ env: { LOG_LEVEL: 'warn' }, logLines }),
    startTestApp({ env: { LOG_LEVEL: 'warn', TRUST_PROXY: 'true' }, logLines: proxiedLog }),
  ]);
});
afterAll(async () => {
  await stopApps(app, proxied);
});

function errorLines(lines: string[]): string[] {
  return lines.filter((line) => /"level":(50|60)/.test(line));
}

describe('a NUL character', () => {
  it('in a signup name is BAD_USER_INPUT on name, and creates nothing', async () => {
    const email = uniqueEmail('nul');
    const res = await gql(app, SIGNUP, { input: { email, password: PASSWORD, name: 'Ada\u0000Lovelace' } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(Object.keys(res.errors?.[0]?.extensions?.fields ?? {})).toEqual(['name']);
    expect(codes(await gql(app, SIGNUP, { input: { email, password: PASSWORD, name: 'Ada' } }))).toEqual([]);
  });

  it('in users(search:) is BAD_USER_INPUT on search', async () => {
    const moderator = await userWithRole(app, Role.MODERATOR);
    const res = await gql(
      app,
      'query ($s: String) { users(search: $s) { totalCount } }',
      { s: 'a\u0000b' },
      { token: moderator.accessToken },
    );
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(Object.keys(res.errors?.[0]?.extensions?.fields ?? {})).toEqual(['search']);
  });

  it('never shows up as a server error in the log', () => {
    expect(errorLines(logLines)).toEqual([]);
  });
});

describe('automatic persisted queries', () => {
  it('are off: a request with a persisted-query hash is told so, not answered with a server error', async () => {
    const query = '{ __typename }';
    const wrong = createHash('sha256').update('something else').digest('hex');
    for (const sha256Hash of [wrong, createHash('sha256').update(query).digest('hex')]) {
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
      });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      // Apollo answers persisted-query errors with 200 (clients read the code and resend the query).
      expect(response.status).toBe(200);
      expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
    }
    expect(errorLines(logLines)).toEqual([]);
  });
});

describe('behind a trusted proxy', () => {
  it('a forwarded address that is not an IP address is not stored, and signup works once', async () => {
    const email = uniqueEmail('forwarded');
    const forwardedFor = `${'x'.repeat(60)}, 203.0.113.9`;
    const res = await gql(
      proxied,
      SIGNUP,
      { input: { email, password: PASSWORD, name: 'Proxied' } },
      { headers: { 'x-forwarded-for': forwardedFor } },
    );
    expect(codes(res)).toEqual([]);
    const sessions = await gql(proxied, '{ sessions { ip } }', {}, { token: res.data?.['signup'].accessToken });
    expect(sessions.data?.['sessions']).toEqual([{ ip: null }]);
    expect(codes(await gql(proxied, SIGNUP, { input: { email, password: PASSWORD, name: 'Proxied' } }))).toEqual(['BAD_USER_INPUT']);
    expect(errorLines(proxiedLog)).toEqual([]);
  });

  it('a long but valid forwarded IPv6 address is kept', async () => {
    const user = await signUp(proxied);
    const ip = '2001:db8:1234:5678:9abc:def0:1234:5678';
    const res = await gql(proxied, '{ sessions { ip } }', {}, { token: user.accessToken, headers: { 'x-forwarded-for': ip } });
    expect(codes(res)).toEqual([]);
    const login = await gql(
      proxied,
      `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`,
      { input: { email: user.email, password: PASSWORD } },
      { headers: { 'x-forwarded-for': ip } },
    );
    const mine = await gql(proxied, '{ sessions { ip current } }', {}, { token: login.data?.['login'].accessToken });
    expect((mine.data?.['sessions'] as { ip: string; current: boolean }[]).find((s) => s.current)?.ip).toBe(ip);
  });
});
