import { migrations } from '../../src/db/migrations';
import { dropDatabases, freshDatabase, startTestApp, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, logIn, signUp } from '../helpers/factories';
import { gql } from '../helpers/graphql';

describe('a restart on the same database', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let first: TestApp | undefined;
  let second: TestApp | undefined;
  beforeAll(async () => {
    database = await freshDatabase({ empty: true });
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await dropDatabases(database);
  });

  it('keeps accounts and sessions, and does not re-apply migrations', async () => {
    // An app started on a given database leaves it in place when it stops.
    first = await startTestApp({ database });
    const user = await signUp(first);
    const executedBefore = await first.app.orm.migrator.getExecuted();
    await first.stop();

    second = await startTestApp({ database });

    // The same rows, with their original execution times: nothing was applied a second time.
    const executedAfter = await second.app.orm.migrator.getExecuted();
    expect(executedAfter).toEqual(executedBefore);
    expect(executedAfter.map((row) => row.name.replace(/\.[jt]s$/, ''))).toEqual(migrations.map((m) => m.name));
    expect(await second.app.orm.migrator.getPending()).toEqual([]);

    const login = await logIn(second, user.email, user.password);
    expect(login.id).toBe(user.id);

    const me = await gql(second, `query { me { id email } }`, {}, { token: user.accessToken });
    expect(me.errors).toBeUndefined();
    expect(me.data?.['me']).toEqual({ id: user.id, email: user.email });

    const refreshed = await gql(second, `mutation ($t: String!) { refreshToken(token: $t) { ${AUTH_FIELDS} } }`, {
      t: user.refreshToken,
    });
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data?.['refreshToken'].user.id).toBe(user.id);
    expect(refreshed.data?.['refreshToken'].refreshToken).not.toBe(user.refreshToken);
  });
});

/** A port nobody listens on right now. */
