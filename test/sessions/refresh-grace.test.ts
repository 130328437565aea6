import { startTestApp, stopApps, TEST_ACCESS_SECRET, TEST_REFRESH_SECRET, type TestApp } from '../helpers/app';
import { AUTH_FIELDS, logIn, signUp } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';
import { loadConfig } from '../../src/config/config';

/**
 * A session has at most one live refresh token at any moment. Within REFRESH_REUSE_GRACE only the
 * token rotated last may be replayed (two tabs racing), and the replay moves the session's single
 * live token forward; any older token, or a replay after the grace ended, ends the session.
 */

const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { ${AUTH_FIELDS} } }`;
const ME = '{ me { id } }';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { REFRESH_REUSE_GRACE: '60s' } });
});
afterAll(async () => {
  await stopApps(app);
});

async function refresh(token: string): Promise<{ codes: string[]; accessToken: string; refreshToken: string }> {
  const res = await gql(app, REFRESH, { t: token });
  const pair = res.data?.['refreshToken'] as { accessToken: string; refreshToken: string } | null | undefined;
  return { codes: codes(res), accessToken: pair?.accessToken ?? '', refreshToken: pair?.refreshToken ?? '' };
}

async function liveTokens(userId: string): Promise<number> {
  const rows = await app.app.orm.em
    .getConnection()
    .execute<{ n: string }[]>(
      'select count(*) as n from refresh_tokens t join sessions s on s.id = t.session_id where s.user_id = ? and t.used_at is null and s.revoked_at is null',
      [userId],
      'all',
    );
  return Number(must(rows[0], 'a count').n);
}

describe('the refresh grace window', () => {
  it('a replay of the token rotated last moves the single live token forward', async () => {
    const user = await signUp(app);
    const victim = await refresh(user.refreshToken);
    expect(victim.codes).toEqual([]);
    const thief = await refresh(user.refreshToken); // within the grace: allowed once more, as two tabs racing
    expect(thief.codes).toEqual([]);
    expect(thief.refreshToken).not.toBe(victim.refreshToken);
    expect(await liveTokens(user.id)).toBe(1);

    // The pair issued before the replay no longer refreshes: presenting it ends the session.
    expect((await refresh(victim.refreshToken)).codes).toEqual(['UNAUTHENTICATED/REFRESH_TOKEN_REUSED']);
    expect((await refresh(thief.refreshToken)).codes).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    expect(codes(await gql(app, ME, {}, { token: thief.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('any number of replays never fork the session', async () => {
    const user = await signUp(app);
    await refresh(user.refreshToken);
    const replays = await Promise.all(Array.from({ length: 10 }, () => refresh(user.refreshToken)));
    expect(replays.flatMap((r) => r.codes)).toEqual([]);
    expect(await liveTokens(user.id)).toBe(1);
  });

  it('a replay of an older token than the one rotated last ends the session, within the grace too', async () => {
    const user = await signUp(app);
    const second = await refresh(user.refreshToken);
    const third = await refresh(second.refreshToken);
    expect(third.codes).toEqual([]);
    expect((await refresh(user.refreshToken)).codes).toEqual(['UNAUTHENTICATED/REFRESH_TOKEN_REUSED']);
    expect(codes(await gql(app, ME, {}, { token: third.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('changePassword ends the grace at once: a replay of the token rotated before it ends the session', async () => {
    const user = await signUp(app);
    const rotated = await refresh(user.refreshToken);
    const changed = await gql(
      app,
      'mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken refreshToken } }',
      { input: { currentPassword: user.password, newPassword: 'an entirely new passphrase' } },
      { token: rotated.accessToken },
    );
    expect(codes(changed)).toEqual([]);
    expect((await refresh(user.refreshToken)).codes).toEqual(['UNAUTHENTICATED/REFRESH_TOKEN_REUSED']);
    expect(codes(await gql(app, ME, {}, { token: changed.data?.['changePassword'].accessToken }))).toEqual([
      'UNAUTHENTICATED/TOKEN_REVOKED',
    ]);
  });

  it('logout and logoutAll end the grace: the rotated token is refused', async () => {
    const user = await signUp(app);
    const rotated = await refresh(user.refreshToken);
    expect(codes(await gql(app, 'mutation { logout }', {}, { token: rotated.accessToken }))).toEqual([]);
    expect((await refresh(user.refreshToken)).codes).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);

    const again = await logIn(app, user.email, user.password);
    const next = await refresh(again.refreshToken);
    expect(codes(await gql(app, 'mutation { logoutAll }', {}, { token: next.accessToken }))).toEqual([]);
    expect((await refresh(again.refreshToken)).codes).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
  });

  it('REFRESH_REUSE_GRACE is at most 60 s', () => {
    const env = { NODE_ENV: 'test', JWT_ACCESS_SECRET: TEST_ACCESS_SECRET, JWT_REFRESH_SECRET: TEST_REFRESH_SECRET };
    expect(loadConfig({ ...env, REFRESH_REUSE_GRACE: '60s' }).refreshReuseGraceMs).toBe(60_000);
    expect(() => loadConfig({ ...env, REFRESH_REUSE_GRACE: '61s' })).toThrow(/REFRESH_REUSE_GRACE/);
    expect(() => loadConfig({ ...env, REFRESH_REUSE_GRACE: '1h' })).toThrow(/REFRESH_REUSE_GRACE/);
  });
});
