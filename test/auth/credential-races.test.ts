import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PasswordHasher } from '../../src/credentials/password.hasher';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, PASSWORD, Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';
import { createPgCluster, type PgCluster } from '../helpers/pg-cluster';

/**
 * A session may only be created if, when it commits, the credentials it was verified against and
 * the account state are still current. Two instances share a private PostgreSQL cluster: on one, a
 * login's password check waits behind slow hashes (its pool is busy), while the other instance
 * changes the password or deactivates the account. Whatever the interleaving, no session may
 * survive that was verified against credentials or an account state that no longer hold.
 */

const DATABASE = 'auth_api';
const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const CHANGE = 'mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken } }';
const ME = '{ me { id } }';
/** A hash this slow keeps a worker thread busy long enough for the other instance to act. */
const SLOW_COST = 14;

let cluster: PgCluster;
let busy: TestApp;
let other: TestApp;
let dataDirs: string[] = [];
let slowHash: string;

beforeAll(async () => {
  cluster = await createPgCluster();
  await cluster.query(`create database ${DATABASE}`);
  dataDirs = [mkdtempSync(path.join(tmpdir(), 'auth-api-race-')), mkdtempSync(path.join(tmpdir(), 'auth-api-race-'))];
  const databaseUrl = cluster.urlOf(DATABASE);
  // Its logins must wait behind the slow hashes, however long that takes on a loaded machine.
  busy = await startTestApp({ database: { dataDir: dataDirs[0] ?? '', databaseUrl }, env: { PASSWORD_HASH_QUEUE_TIMEOUT: '5m' } });
  // Hashes that take a while: two password changes started together both check the old password first.
  other = await startTestApp({ database: { dataDir: dataDirs[1] ?? '', databaseUrl }, env: { BCRYPT_COST: '10' } });
  const hasher = new PasswordHasher(SLOW_COST);
  try {
    slowHash = await hasher.hash(PASSWORD);
  } finally {
    await hasher.close();
  }
}, 120_000);

afterAll(async () => {
  try {
    await stopApps(busy, other);
  } finally {
    await cluster.destroy();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

/** Occupies every worker of `busy` with logins of an account whose hash is slow to check. */
async function occupyWorkers(): Promise<Promise<unknown>[]> {
  const email = uniqueEmail('slow');
  await busy.app.services.users.insert(busy.app.orm.em.fork(), { email, name: 'Slow', passwordHash: slowHash, role: Role.USER });
  return Array.from({ length: 4 }, () => gql(busy, LOGIN, { input: { email, password: PASSWORD } }));
}

function accessTokenOf(login: GraphQLResponse): string | undefined {
  return (login.data?.['login'] as { accessToken?: string } | null | undefined)?.accessToken;
}

describe('credential changes and the operations they must stop', () => {
  it('a login with the old password, in flight during a password change, leaves no live session', async () => {
    const user: SignedIn = await signUp(other);
    const blockers = await occupyWorkers();
    const login = gql(busy, LOGIN, { input: { email: user.email, password: PASSWORD } });
    const changed = await gql(
      other,
      CHANGE,
      { input: { currentPassword: PASSWORD, newPassword: 'a new and long passphrase' } },
      { token: user.accessToken },
    );
    expect(codes(changed)).toEqual([]);
    const answer = await login;
    await Promise.all(blockers);
    const token = accessTokenOf(answer);
    if (token === undefined) expect(codes(answer)).toEqual(['UNAUTHENTICATED/INVALID_CREDENTIALS']);
    else expect(codes(await gql(other, ME, {}, { token }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('a login racing deactivateUser leaves no session that works again after reactivateUser', async () => {
    const admin = await userWithRole(other, Role.ADMIN);
    const user = await signUp(other);
    const blockers = await occupyWorkers();
    const login = gql(busy, LOGIN, { input: { email: user.email, password: PASSWORD } });
    const deactivate = await gql(
      other,
      'mutation ($id: ID!) { deactivateUser(userId: $id) { id } }',
      { id: user.id },
      { token: admin.accessToken },
    );
    expect(codes(deactivate)).toEqual([]);
    const answer = await login;
    await Promise.all(blockers);
    const reactivate = await gql(
      other,
      'mutation ($id: ID!) { reactivateUser(userId: $id) { id } }',
      { id: user.id },
      { token: admin.accessToken },
    );
    expect(codes(reactivate)).toEqual([]);
    const token = accessTokenOf(answer);
    if (token === undefined) expect(codes(answer)).toEqual(['UNAUTHENTICATED/ACCOUNT_DISABLED']);
    else expect(codes(await gql(other, ME, {}, { token }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('of two concurrent password changes from the same password, exactly one succeeds', async () => {
    const user = await signUp(other);
    const [first, second] = await Promise.all(
      ['first new passphrase', 'second new passphrase'].map((newPassword) =>
        gql(other, CHANGE, { input: { currentPassword: PASSWORD, newPassword } }, { token: user.accessToken }),
      ),
    );
    const outcomes = [first, second].map((answer) => (answer ? codes(answer).join() || 'ok' : 'missing'));
    expect(outcomes.sort()).toEqual(['BAD_USER_INPUT', 'ok']);
    const winner = [first, second].find((answer) => answer && !answer.errors);
    const pair = winner?.data?.['changePassword'] as { accessToken: string } | undefined;
    expect(codes(await gql(other, ME, {}, { token: pair?.accessToken ?? '' }))).toEqual([]);
  });
});
