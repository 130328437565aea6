/**
 * Apollo Client 4 link for this API's short-lived access tokens. Copy this file into your client.
 *
 *   const client = new ApolloClient({
 *     cache: new InMemoryCache(),
 *     link: ApolloLink.from([createAuthLink({ store, onSignedOut }), new HttpLink({ uri })]),
 *   });
 *
 * What it does:
 * - adds `Authorization: Bearer <access token>` from your token store to every operation;
 * - when an operation fails with `UNAUTHENTICATED` / reason `TOKEN_EXPIRED`, runs ONE `refreshToken`
 *   mutation, however many operations failed at the same time (they all wait for that one), stores
 *   the new pair and retries each failed operation once with the new access token;
 * - when the refresh itself is refused (`UNAUTHENTICATED`: the session ended, expired, or its refresh
 *   token was replayed, `REFRESH_TOKEN_REUSED`), clears the store, calls `onSignedOut` once, and
 *   fails the waiting operations with the refresh's error. A network error or `RATE_LIMITED` during the
 *   refresh fails the operations but keeps the tokens: the next expired operation tries again.
 *
 * Refresh tokens are single use, which is why the refresh must be shared: two refreshes with one
 * token would rotate it twice, and a replay after `REFRESH_REUSE_GRACE` ends the whole session.
 *
 * Two transports (see "Cookie mode" in the README):
 * - `body` (default; Node, mobile): the refresh token is in the store and sent as `refreshToken(token:)`.
 * - `cookie` (browsers): the refresh token is an HttpOnly cookie the page never sees; the mutation is
 *   sent without argument. Give the HttpLink `credentials: 'include'` (or `'same-origin'`) so the
 *   browser sends and receives the cookie. The store then only keeps the access token, in memory;
 *   after a page load it is empty (requests get TOKEN_MISSING, which this link leaves alone), so run
 *   `mutation { refreshToken { accessToken } }` once at start-up to pick the session up again.
 *
 * Retrying is safe with this API: an expired token is refused before any guarded resolver runs. An
 * operation that also selects public root fields (which do not need the token) runs those twice.
 */
import { ApolloLink, CombinedGraphQLErrors, gql, type ApolloClient, type ErrorLike, type TypedDocumentNode } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { defer, switchMap } from 'rxjs';

export interface Tokens {
  readonly accessToken: string;
  /** Null in cookie mode: the refresh token lives in the HttpOnly cookie. */
  readonly refreshToken: string | null;
}

/** Where your app keeps the tokens: memory, secure storage, a database row for a server-side client. */
export interface TokenStore {
  getAccessToken(): string | null;
  getRefreshToken(): string | null;
  setTokens(tokens: Tokens): void;
  clear(): void;
}

export interface AuthLinkOptions {
  readonly store: TokenStore;
  /** `body` (default): send the stored refresh token; `cookie`: let the browser send the HttpOnly cookie. */
  readonly transport?: 'body' | 'cookie';
  /** Called once when a refresh is refused and the tokens were cleared: show the login screen. */
  readonly onSignedOut?: (error: ErrorLike) => void;
}

interface RefreshResult {
  refreshToken: { accessToken: string; refreshToken: string | null } | null;
}

/** The operation name `RefreshToken` also lets tests and logs tell refreshes apart. */
const REFRESH_WITH_TOKEN: TypedDocumentNode<RefreshResult, { token: string }> = gql`
  mutation RefreshToken($token: String!) {
    refreshToken(token: $token) {
      accessToken
      refreshToken
    }
  }
`;
const REFRESH_FROM_COOKIE: TypedDocumentNode<RefreshResult, Record<string, never>> = gql`
  mutation RefreshToken {
    refreshToken {
      accessToken
      refreshToken
    }
  }
`;

/** Context keys of this link: the refresh's own operation, and the access token an operation was sent with. */
const IS_REFRESH = 'authLinkRefresh';
const SENT_TOKEN = 'authLinkAccessToken';

function hasReason(error: ErrorLike, code: string, reason?: string): boolean {
  return (
    CombinedGraphQLErrors.is(error) &&
    error.errors.some((e) => e.extensions?.['code'] === code && (reason === undefined || e.extensions['reason'] === reason))
  );
}

export function createAuthLink({ store, transport = 'body', onSignedOut }: AuthLinkOptions): ApolloLink {
  /** The refresh in flight, shared by every operation that fails while it runs. */
  let inFlight: Promise<void> | undefined;

  /** The refresh mutation of this transport: the stored refresh token as argument, or the cookie. */
  async function sendRefresh(client: ApolloClient, token: string | null) {
    // fetchPolicy no-cache: tokens do not belong in the normalized cache.
    const options = { fetchPolicy: 'no-cache', context: { [IS_REFRESH]: true } } as const;
    if (transport === 'cookie') return client.mutate({ ...options, mutation: REFRESH_FROM_COOKIE });
    if (token === null) throw new Error('No refresh token: sign in again');
    return client.mutate({ ...options, mutation: REFRESH_WITH_TOKEN, variables: { token } });
  }

  async function refresh(client: ApolloClient): Promise<void> {
    const token = store.getRefreshToken();
    const missing = transport === 'body' && token === null;
    try {
      const { data } = await sendRefresh(client, token);
      if (!data?.refreshToken) throw new Error('The refresh returned no tokens');
      store.setTokens({ accessToken: data.refreshToken.accessToken, refreshToken: data.refreshToken.refreshToken });
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      // Refused (session ended, expired, replayed) or no refresh token: the session is over.
      // Anything else (network, RATE_LIMITED, SERVICE_UNAVAILABLE) may pass: keep the tokens.
      if (missing || hasReason(error, 'UNAUTHENTICATED')) {
        store.clear();
        onSignedOut?.(error);
      }
      throw error;
    }
  }

  /** Single flight: the first caller starts the refresh, the others join it until it settles. */
  function refreshOnce(client: ApolloClient): Promise<void> {
    inFlight ??= refresh(client).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  const bearer = new SetContextLink((previous) => {
    if (previous[IS_REFRESH] === true) return {};
    const accessToken = store.getAccessToken();
    const headers = previous['headers'] as Record<string, string> | undefined;
    return { [SENT_TOKEN]: accessToken, headers: accessToken ? { ...headers, authorization: `Bearer ${accessToken}` } : headers };
  });

  const refreshOnExpiry = new ErrorLink(({ error, operation, forward }) => {
    const context = operation.getContext();
    if (context[IS_REFRESH] === true || !hasReason(error, 'UNAUTHENTICATED', 'TOKEN_EXPIRED')) return; // passes through
    const current = store.getAccessToken();
    if (current === null) return; // signed out meanwhile: nothing to retry with
    const sent: unknown = context[SENT_TOKEN];
    // Sent before a refresh that has completed since: the store already has a newer token.
    const ready = current !== sent ? Promise.resolve() : refreshOnce(operation.client);
    // `forward` goes on down the chain: the bearer link sets the new token, and a retry that fails
    // again is not caught here a second time.
    return defer(() => ready).pipe(switchMap(() => forward(operation)));
  });

  return ApolloLink.from([refreshOnExpiry, bearer]);
}
