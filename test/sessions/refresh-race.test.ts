import { startTestApp, type TestApp } from '../helpers/app';
import { signUp } from '../helpers/factories';
import { codes, gql, type GraphQLResponse } from '../helpers/graphql';

const REFRESH = `mutation ($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`;

function refreshInParallel(app: TestApp, token: string, times: number): Promise<GraphQLResponse<Record<string, any>>[]> {
  return Promise.all(Array.from({ length: times }, () => gql(app, REFRESH, { t: token })));
}

describe('20 parallel refreshes of one refresh token', () => {
  it('within the grace window: every one succeeds, none is a server error', async () => {
    const app = await startTestApp();
    try {
      const user = await signUp(app);
      const responses = await refreshInParallel(app, user.refreshToken, 20);
      expect(responses.flatMap(codes)).toEqual([]);
      const pairs = responses.map((r) => r.data?.['refreshToken']);
      expect(new Set(pairs.map((p) => p.refreshToken)).size).toBe(20);
      const me = await gql(app, `{ me { id } }`, {}, { token: pairs[7].accessToken });
      expect(me.data).toEqual({ me: { id: user.id } });
    } finally {
      await app.stop();
    }
  });

  it('with the grace off: exactly one wins, the others are reuse, and no branch survives', async () => {
    const app = await startTestApp({ env: { REFRESH_REUSE_GRACE: '0s' } });
    try {
      const user = await signUp(app);
      const responses = await refreshInParallel(app, user.refreshToken, 20);
      const outcomes = responses.map((r) => (r.errors ? codes(r).join() : 'ok'));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      // Losers either detect the reuse themselves or arrive after it ended the session.
      for (const outcome of outcomes.filter((o) => o !== 'ok')) {
        expect(['UNAUTHENTICATED/REFRESH_TOKEN_REUSED', 'UNAUTHENTICATED/TOKEN_REVOKED']).toContain(outcome);
      }
      expect(outcomes).toContain('UNAUTHENTICATED/REFRESH_TOKEN_REUSED');
      const winner = responses.find((r) => !r.errors)?.data?.['refreshToken'];
      expect(codes(await gql(app, REFRESH, { t: winner.refreshToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
      expect(codes(await gql(app, `{ me { id } }`, {}, { token: winner.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
      expect(codes(await gql(app, `{ me { id } }`, {}, { token: user.accessToken }))).toEqual(['UNAUTHENTICATED/TOKEN_REVOKED']);
    } finally {
      await app.stop();
    }
  });
});
