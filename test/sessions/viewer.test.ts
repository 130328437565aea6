import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { onServer, startTestApp, stopApps, type TestApp } from '../helpers/app';
import { logIn, PASSWORD, Role, signUp, userWithRole } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';

// The viewer of each request is a read-only snapshot read with one query, without a unit of work;
// resolvers that use the ORM fork one, once per request, however often Apollo copies the context.

let app: TestApp;
beforeAll(async () => {
  // No background rounds of the mail loop or the session purge while forks are counted.
  app = await startTestApp({ env: { MAIL_POLL_INTERVAL: '1h', SESSION_PURGE_INTERVAL: '1h' } });
});
afterAll(async () => {
  await stopApps(app);
});

/** The names of the statements prepared on the app's pooled connection that a next query gets (pg-pool hands out the last released). */
async function preparedOnPool(target: TestApp = app): Promise<string[]> {
  const connection = target.app.orm.em.getConnection();
  if (!(connection instanceof PostgreSqlConnection)) throw new Error('not on a PostgreSQL server');
  const pool = await connection.getNativeClient();
  const { rows } = await pool.query<{ name: string }>('select name from pg_prepared_statements order by name');
  return rows.map((row) => row.name);
}

const EVERY_USER_FIELD = 'id name role createdAt email isActive lastLoginAt emailVerified mfaEnabled';

describe('the viewer snapshot', () => {
  it('answers `me` with the same values the ORM entity gives for that account', async () => {
    const admin = await userWithRole(app, Role.ADMIN);
    const user = await signUp(app, { name: 'Snap Shot' });
    await logIn(app, user.email, PASSWORD); // sets lastLoginAt
    const promoted = await gql(
      app,
      `mutation ($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { id } }`,
      { id: user.id },
      { token: admin.accessToken },
    );
    expect(promoted.errors).toBeUndefined();

    const me = await gql(app, `query { me { ${EVERY_USER_FIELD} } }`, {}, { token: user.accessToken });
    const entity = await gql(
      app,
      `query ($id: ID!) { user(id: $id) { ${EVERY_USER_FIELD} } }`,
      { id: user.id },
      { token: admin.accessToken },
    );
    expect(me.errors).toBeUndefined();
    expect(entity.errors).toBeUndefined();
    expect(me.data?.['me']).toEqual(entity.data?.['user']);
    expect(me.data?.['me']).toMatchObject({ name: 'Snap Shot', role: 'MODERATOR', email: user.email, isActive: true });
    expect(me.data?.['me'].lastLoginAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('is read anew on the next request after each change, with the same access token', async () => {
    const admin = await userWithRole(app, Role.ADMIN);
    const user = await signUp(app);
    const second = await logIn(app, user.email, PASSWORD);
    const ME = `query { me { id role isActive } }`;
    expect(codes(await gql(app, ME, {}, { token: user.accessToken }))).toEqual(['FORBIDDEN']);

    // A role change: the field guards of the next request see it, both ways.
    await gql(
      app,
      `mutation ($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { id } }`,
      { id: user.id },
      { token: admin.accessToken },
    );
    expect((await gql(app, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, role: 'MODERATOR', isActive: true } });
    await gql(app, `mutation ($id: ID!) { setUserRole(userId: $id, role: USER) { id } }`, { id: user.id }, { token: admin.accessToken });
    expect(codes(await gql(app, ME, {}, { token: user.accessToken }))).toEqual(['FORBIDDEN']);

    // The user's own revocation of another session.
    const sessions = await gql(app, `query { sessions { id current } }`, {}, { token: user.accessToken });
    const other = (sessions.data?.['sessions'] as { id: string; current: boolean }[]).find((s) => !s.current);
    await gql(
      app,
      `mutation ($id: ID!) { revokeSession(id: $id) }`,
      { id: must(other, 'the other session').id },
      { token: user.accessToken },
    );
    expect(codes(await gql(app, `query { me { id } }`, {}, { token: second.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);

    // Logout of the current session.
    const third = await logIn(app, user.email, PASSWORD);
    expect((await gql(app, `mutation { logout }`, {}, { token: third.accessToken })).data).toEqual({ logout: true });
    expect(codes(await gql(app, `query { me { id } }`, {}, { token: third.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);

    // A deactivation by an ADMIN: the token that still worked a moment ago stops.
    expect((await gql(app, `query { me { id } }`, {}, { token: user.accessToken })).errors).toBeUndefined();
    await gql(app, `mutation ($id: ID!) { deactivateUser(userId: $id) { id } }`, { id: user.id }, { token: admin.accessToken });
    expect(codes(await gql(app, `query { me { id } }`, {}, { token: user.accessToken }))).toEqual([
      expect.stringMatching(/^UNAUTHENTICATED\/(TOKEN_REVOKED|ACCOUNT_DISABLED)$/),
    ]);
  });
});

describe('units of work', () => {
  /** Counts the units of work forked from the ORM while `run` runs. */
  async function forksDuring(run: () => Promise<void>): Promise<number> {
    const fork = jest.spyOn(app.app.orm.em, 'fork');
    try {
      await run();
      return fork.mock.calls.length;
    } finally {
      fork.mockRestore();
    }
  }

  it('are not forked for a request that needs no ORM: public fields, a rejected token, `me` and its guarded fields', async () => {
    const user = await signUp(app);
    const forks = await forksDuring(async () => {
      expect((await gql(app, `query { authConfig { passwordMinLength totpEnabled } }`)).errors).toBeUndefined();
      expect(codes(await gql(app, `query { me { id } }`, {}, { token: 'not-a-token' }))).toEqual(['UNAUTHENTICATED/TOKEN_INVALID']);
      expect(codes(await gql(app, `query { me { id } }`))).toEqual(['UNAUTHENTICATED/TOKEN_MISSING']);
      const me = await gql(app, `query { me { id email isActive emailVerified } }`, {}, { token: user.accessToken });
      expect(codes(me)).toEqual(['FORBIDDEN']); // isActive: MODERATOR and ADMIN only
      expect(me.data).toEqual({ me: { id: user.id, email: user.email, isActive: null, emailVerified: false } });
    });
    expect(forks).toBe(0);
  });

  it('is forked once for a request whose resolvers use the ORM, and a mutation through it commits', async () => {
    const admin = await userWithRole(app, Role.ADMIN);
    const user = await signUp(app);
    const queries = await forksDuring(async () => {
      const res = await gql(
        app,
        `query { sessions { id } users(first: 1) { totalCount } auditLog(first: 1) { totalCount } }`,
        {},
        { token: admin.accessToken },
      );
      expect(res.errors).toBeUndefined();
    });
    expect(queries).toBe(1);

    const mutation = await forksDuring(async () => {
      const res = await gql(
        app,
        `mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken user { id email } } }`,
        { input: { currentPassword: PASSWORD, newPassword: 'another long password' } },
        { token: user.accessToken },
      );
      expect(res.errors).toBeUndefined();
      const fresh = res.data?.['changePassword'] as { accessToken: string; user: { id: string; email: string } };
      expect(fresh.user).toEqual({ id: user.id, email: user.email });
      expect((await gql(app, `query { me { id } }`, {}, { token: fresh.accessToken })).data).toEqual({ me: { id: user.id } });
    });
    expect(mutation).toBe(1);
    await logIn(app, user.email, 'another long password');
  });
});

describe('the viewer query as a prepared statement', () => {
  /** Runs SQL on the app's database from outside the app, as a migration would. */
  async function migrate(sql: string): Promise<void> {
    if (!app.databaseUrl) {
      await app.app.orm.em.getConnection().execute(sql);
      return;
    }
    const client = new Client({ connectionString: app.databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  it('is prepared on the pooled connection of a PostgreSQL server once, then executed by name', async () => {
    // On a server whatever database the suite runs on: PGlite has no pool and takes the plain path.
    const serverApp = await startTestApp({ server: true });
    try {
      const user = await signUp(serverApp);
      expect((await gql(serverApp, `query { me { id } }`, {}, { token: user.accessToken })).errors).toBeUndefined();
      expect(await preparedOnPool(serverApp)).toContain('viewer_1');
    } finally {
      await stopApps(serverApp);
    }
  });

  it('survives a migration that changes the type of a column it selects, between two requests', async () => {
    const user = await signUp(app, { name: 'Before Migration' });
    const ME = `query { me { id name } }`;
    expect((await gql(app, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, name: 'Before Migration' } });
    // varchar(n) to text: PostgreSQL now refuses the statement planned for varchar ("cached plan
    // must not change result type"); the reader prepares it again under a new name.
    await migrate('alter table users alter column name type text');
    for (let i = 0; i < 3; i++) {
      expect((await gql(app, ME, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id, name: 'Before Migration' } });
    }
    if (onServer) expect(await preparedOnPool()).toContain('viewer_2');
  });
});

describe('DATABASE_PREPARED_STATEMENTS=false', () => {
  let unnamed: TestApp;
  beforeAll(async () => {
    unnamed = await startTestApp({ server: true, env: { DATABASE_PREPARED_STATEMENTS: 'false' } });
  });
  afterAll(async () => {
    await stopApps(unnamed);
  });

  it('reads the viewer without a prepared statement', async () => {
    const user = await signUp(unnamed);
    expect((await gql(unnamed, `query { me { id } }`, {}, { token: user.accessToken })).data).toEqual({ me: { id: user.id } });
    expect(await preparedOnPool(unnamed)).toEqual([]);
  });
});
