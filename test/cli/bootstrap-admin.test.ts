import { dropDatabases, freshDatabase, startTestApp, type TestApp } from '../helpers/app';
import { logIn, signUp, uniqueEmail } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';

const ADMIN_EMAIL = uniqueEmail('root');
const FIRST_PASSWORD = 'the first bootstrap password';
const SECOND_PASSWORD = 'a changed bootstrap password';

const USERS = `query ($search: String) { users(search: $search) { totalCount edges { node { id email name role isActive } } } }`;

let database: Awaited<ReturnType<typeof freshDatabase>>;
let app: TestApp | undefined;

/** Starts the app on the suite's database, as a deployment restarts it with BOOTSTRAP_ADMIN_* set. */
function start(password: string): Promise<TestApp> {
  // A database passed in is never dropped by stop(): it outlives restarts and is dropped in afterAll.
  return startTestApp({
    database,
    env: { BOOTSTRAP_ADMIN_EMAIL: `  ${ADMIN_EMAIL.toUpperCase()} `, BOOTSTRAP_ADMIN_PASSWORD: password },
  });
}

beforeAll(async () => {
  database = await freshDatabase();
  app = await start(FIRST_PASSWORD);
});
afterAll(async () => {
  await app?.stop();
  await dropDatabases(database);
});

describe('BOOTSTRAP_ADMIN_EMAIL / BOOTSTRAP_ADMIN_PASSWORD', () => {
  it('creates that ADMIN at start-up, who logs in over GraphQL and lists users', async () => {
    const someone = await signUp(running());
    const admin = await logIn(running(), ADMIN_EMAIL, FIRST_PASSWORD);

    const me = await gql(running(), `query { me { email role } }`, {}, { token: admin.accessToken });
    expect(me.errors).toBeUndefined();
    expect(me.data?.['me']).toEqual({ email: ADMIN_EMAIL, role: 'ADMIN' });

    const users = await gql(running(), USERS, {}, { token: admin.accessToken });
    expect(users.errors).toBeUndefined();
    expect(users.data?.['users'].totalCount).toBe(2);
    expect(users.data?.['users'].edges.map((e: any) => [e.node.email, e.node.role]).sort()).toEqual(
      [
        [ADMIN_EMAIL, 'ADMIN'],
        [someone.email, 'USER'],
      ].sort(),
    );
  });

  it('is idempotent: a restart with a changed password keeps the one ADMIN and its first password', async () => {
    await app?.stop();
    app = await start(SECOND_PASSWORD);

    const refused = await gql(running(), `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`, {
      input: { email: ADMIN_EMAIL, password: SECOND_PASSWORD },
    });
    expect(codes(refused)).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);

    const admin = await logIn(running(), ADMIN_EMAIL, FIRST_PASSWORD);
    const users = await gql(running(), USERS, { search: ADMIN_EMAIL }, { token: admin.accessToken });
    expect(users.errors).toBeUndefined();
    expect(users.data?.['users'].totalCount).toBe(1);
    expect(users.data?.['users'].edges[0].node).toMatchObject({ id: admin.id, email: ADMIN_EMAIL, role: 'ADMIN', isActive: true });
  });
});

function running(): TestApp {
  if (!app) throw new Error('the app is not running');
  return app;
}

describe('BOOTSTRAP_ADMIN_EMAIL of an account that is not an ADMIN', () => {
  it('refuses to start with a message naming the variable, and never promotes the account', async () => {
    const own = await freshDatabase();
    const first = await startTestApp({ database: own });
    let startError: unknown;
    let user;
    try {
      user = await signUp(first);
    } finally {
      await first.stop();
    }
    try {
      const second = await startTestApp({
        database: own,
        env: { BOOTSTRAP_ADMIN_EMAIL: user.email, BOOTSTRAP_ADMIN_PASSWORD: FIRST_PASSWORD },
      });
      await second.stop();
    } catch (error) {
      startError = error;
    }
    expect(String(startError)).toMatch(/BOOTSTRAP_ADMIN_EMAIL/);
    expect(String(startError)).toMatch(/not an ADMIN/);

    const third = await startTestApp({ database: own });
    try {
      const me = await gql(third, '{ me { role } }', {}, { token: (await logIn(third, user.email, user.password)).accessToken });
      expect(me.data?.['me']).toEqual({ role: 'USER' });
    } finally {
      await third.stop();
      await dropDatabases(own);
    }
  });
});
