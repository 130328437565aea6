import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { onServer, startTestApp, stopApps, type TestApp } from '../helpers/app';
import { logIn, PASSWORD, Role, signUp, userWithRole } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';
import { pipelinedPosts } from '../helpers/pipelined';

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

describe('viewer reads that arrive together, on a PostgreSQL server', () => {
  const METRICS_TOKEN = 'metrics-scrape-token-0123456789-abcdefghijklmnop';
  let together: TestApp;
  beforeAll(async () => {
    together = await startTestApp({ server: true, env: { METRICS_TOKEN } });
  });
  afterAll(async () => {
    await stopApps(together);
  });

  /** The viewer-batch histogram's count (round trips) and sum (reads) so far. */
  async function roundTrips(): Promise<{ count: number; sum: number }> {
    const response = await fetch(`${together.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const body = await response.text();
    const value = (series: string): number => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(body)?.[1] ?? Number.NaN);
    return { count: value('auth_api_viewer_reads_per_round_trip_count'), sum: value('auth_api_viewer_reads_per_round_trip_sum') };
  }

  const ME = `query { me { id name role } }`;

  it('are read in fewer round trips than requests, each request its own viewer, a refused one refused alone', async () => {
    const admin = await userWithRole(together, Role.ADMIN);
    const [first, second, revoked, disabled] = await Promise.all([
      signUp(together, { name: 'First' }),
      signUp(together, { name: 'Second' }),
      signUp(together, { name: 'Revoked' }),
      signUp(together, { name: 'Disabled' }),
    ]);
    const moderator = await signUp(together, { name: 'Moderator' });
    await gql(
      together,
      `mutation ($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { id } }`,
      { id: moderator.id },
      { token: admin.accessToken },
    );
    expect((await gql(together, `mutation { logout }`, {}, { token: revoked.accessToken })).data).toEqual({ logout: true });
    await gql(together, `mutation ($id: ID!) { deactivateUser(userId: $id) { id } }`, { id: disabled.id }, { token: admin.accessToken });
    // The query's text is reused from here on (past Apollo's pipeline, src/graphql/reused-queries.ts).
    for (let i = 0; i < 3; i++) expect((await gql(together, ME, {}, { token: first.accessToken })).errors).toBeUndefined();

    const tokens = [first, revoked, second, disabled, moderator, first, second, revoked, moderator, first];
    const before = await roundTrips();
    const answers = await pipelinedPosts(
      together,
      tokens.map((signedIn) => ({ query: ME, token: signedIn.accessToken })),
    );
    const after = await roundTrips();

    const expected = tokens.map((signedIn) => {
      if (signedIn === revoked) return ['UNAUTHENTICATED/TOKEN_REVOKED'];
      if (signedIn === disabled) return [expect.stringMatching(/^UNAUTHENTICATED\/(TOKEN_REVOKED|ACCOUNT_DISABLED)$/)];
      return {
        id: signedIn.id,
        name: signedIn === moderator ? 'Moderator' : signedIn === first ? 'First' : 'Second',
        role: signedIn === moderator ? 'MODERATOR' : 'USER',
      };
    });
    expect(answers.map((answer) => (answer.errors ? codes(answer) : answer.data?.['me']))).toEqual(expected);
    expect(after.sum - before.sum).toBe(tokens.length);
    expect(after.count - before.count).toBeGreaterThanOrEqual(1);
    expect(after.count - before.count).toBeLessThan(tokens.length);
  });

  it('survive a migration that changes the type of a column they select: the batch is read again under a new name', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, (_, i) => signUp(together, { name: `Migrated ${String(i)}` })));
    for (let i = 0; i < 3; i++) expect((await gql(together, ME, {}, { token: users[0]?.accessToken })).errors).toBeUndefined();
    const client = new Client({ connectionString: must(together.databaseUrl, 'a server database') });
    await client.connect();
    try {
      // varchar(n) to text: the statement prepared for varchar is refused ("cached plan must not change
      // result type") for the whole batch, which is sent again under a new name.
      await client.query('alter table users alter column name type text');
    } finally {
      await client.end();
    }
    const tokens = [...users, ...users];
    const answers = await pipelinedPosts(
      together,
      tokens.map((signedIn) => ({ query: ME, token: signedIn.accessToken })),
    );
    expect(answers.map((answer) => answer.errors ?? answer.data?.['me'])).toEqual(
      tokens.map((signedIn, i) => ({ id: signedIn.id, name: `Migrated ${String(i % users.length)}`, role: 'USER' })),
    );
    expect(await preparedOnPool(together)).toContain('viewer_2');
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
