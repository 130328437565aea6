import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, Role, uniqueEmail, userWithRole } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';
import { must } from '../helpers/must';

type Reply = GraphQLResponse<Record<string, any>>;

const SIGNUP = `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const RACERS = 20;

let app: TestApp;
beforeAll(async () => {
  // Rate limits are their own suite; 20 signups from one address must all reach the database.
  app = await startTestApp({ env: { RATE_LIMITS: 'off' } });
});
afterAll(async () => {
  await stopApps(app);
});

/** The same address in many spellings: lower, upper, capitalised, with surrounding spaces. */
function spelling(email: string, i: number): string {
  switch (i % 4) {
    case 0:
      return email;
    case 1:
      return email.toUpperCase();
    case 2:
      return email.replace(/^./, (c) => c.toUpperCase());
    default:
      return `  ${email.replace(/@.*/, (domain) => domain.toUpperCase())} `;
  }
}

function passwordOf(i: number): string {
  return `${PASSWORD} #${String(i)}`;
}

function signup(email: string, i: number): Promise<Reply> {
  return gql(app, SIGNUP, { input: { email: spelling(email, i), password: passwordOf(i), name: `Racer ${String(i)}` } });
}

describe('concurrent signups with one email', () => {
  it('let exactly one win; the others get BAD_USER_INPUT on email, and the winner can log in', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => signup(email, i)));

    expect(results.flatMap((r) => codes(r))).not.toContain('INTERNAL_SERVER_ERROR');
    const winners = results.flatMap((r, i) => (r.errors === undefined ? [i] : []));
    expect(winners).toHaveLength(1);
    const winner = must(winners[0], 'the winning signup');
    const created = results[winner]?.data?.['signup'];
    expect(created.user).toMatchObject({ email, name: `Racer ${String(winner)}`, role: 'USER' });

    const losers = results.filter((_, i) => i !== winner);
    expect(losers).toHaveLength(RACERS - 1);
    for (const loser of losers) {
      expect(codes(loser)).toEqual(['BAD_USER_INPUT']);
      expect(Object.keys(loser.errors?.[0]?.extensions?.fields ?? {})).toEqual(['email']);
      expect(loser.errors?.[0]?.path).toEqual(['signup']);
      expect(loser.data).toBeNull();
    }

    const login = await gql(app, LOGIN, { input: { email: email.toUpperCase(), password: passwordOf(winner) } });
    expect(login.errors).toBeUndefined();
    expect(login.data?.['login'].user.id).toBe(created.user.id);

    // A loser's password opens nothing: no second account and no overwritten password.
    const loserPassword = passwordOf((winner + 1) % RACERS);
    expect(codes(await gql(app, LOGIN, { input: { email, password: loserPassword } }))).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);

    const admin = await userWithRole(app, Role.ADMIN);
    const listed = await gql(
      app,
      `query ($s: String) { users(search: $s) { totalCount edges { node { id } } } }`,
      { s: email },
      {
        token: admin.accessToken,
      },
    );
    expect(listed.data?.['users']).toEqual({ totalCount: 1, edges: [{ node: { id: created.user.id } }] });
  });

  it('let distinct emails racing together all succeed', async () => {
    // The race above refused duplicates, not concurrency.
    const emails = Array.from({ length: RACERS }, () => uniqueEmail('parallel'));
    const results = await Promise.all(emails.map((email, i) => signup(email, i)));
    expect(results.flatMap((r) => codes(r))).toEqual([]);
    expect(new Set(results.map((r) => r.data?.['signup'].user.id)).size).toBe(RACERS);
  });
});
