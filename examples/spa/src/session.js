// The session in cookie mode. The access token lives only in this module's memory; the refresh
// token is an HttpOnly, SameSite=Strict cookie set by the API on /graphql, which page JavaScript
// never sees. On page load and whenever the access token has expired, the cookie buys a new one.
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { from, switchMap } from 'rxjs';

/**
 * The GraphQL endpoint. By default the API on port 4000 of the host that served this page: the same
 * site, so the SameSite=Strict refresh cookie travels with `credentials: 'include'`.
 */
export const API_URL = import.meta.env.VITE_API_URL ?? `${location.protocol}//${location.hostname}:4000/graphql`;

let accessToken = null;
let accessTokenExpiresAt = null;
let refreshing = null;

/** The session cannot be restored or renewed (no cookie, expired, revoked): sign in again. */
export class SessionEnded extends Error {}

const REFRESH = 'mutation RefreshToken { refreshToken { accessToken accessTokenExpiresAt } }';

/**
 * Trades the refresh cookie for a new access token (the API rotates the cookie). Callers that
 * arrive while a refresh is in flight share it: each refresh token is single use.
 */
export function refreshAccessToken() {
  refreshing ??= (async () => {
    // Plain fetch, outside Apollo's link chain, so a failed refresh is never itself retried.
    const response = await fetch(API_URL, {
      method: 'POST',
      credentials: 'include',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operationName: 'RefreshToken', query: REFRESH }),
    });
    const { data, errors } = await response.json();
    if (!data?.refreshToken) {
      forgetTokens();
      throw new SessionEnded(errors?.[0]?.message ?? 'The session has ended');
    }
    remember(data.refreshToken);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function remember(payload) {
  accessToken = payload.accessToken;
  accessTokenExpiresAt = new Date(payload.accessTokenExpiresAt);
}

function forgetTokens() {
  accessToken = null;
  accessTokenExpiresAt = null;
}

export function hasAccessToken() {
  return accessToken !== null;
}

export function tokenExpiresAt() {
  return accessTokenExpiresAt;
}

/**
 * The operations of a mailed link (reset, verify) run with `context: { anonymous: true }`: no
 * access token goes along, and their TOKEN_EXPIRED is about the link, not a reason to refresh.
 */
const withAccessToken = new SetContextLink(({ headers, anonymous }) =>
  accessToken && !anonymous ? { headers: { ...headers, authorization: `Bearer ${accessToken}` } } : {},
);

/** TOKEN_EXPIRED: refresh once through the cookie, then send the same operation again. */
const refreshWhenExpired = new ErrorLink(({ error, operation, forward }) => {
  const expired = CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.reason === 'TOKEN_EXPIRED');
  if (!expired || operation.getContext().anonymous || operation.getContext().retriedAfterRefresh) return;
  operation.setContext({ retriedAfterRefresh: true });
  return from(refreshAccessToken()).pipe(switchMap(() => forward(operation)));
});

export const client = new ApolloClient({
  // credentials: 'include' lets the login's Set-Cookie be stored and the cookie reach /graphql.
  link: ApolloLink.from([refreshWhenExpired, withAccessToken, new HttpLink({ uri: API_URL, credentials: 'include' })]),
  cache: new InMemoryCache(),
});

const LOGIN = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
    }
  }
`;

const ME = gql`
  query Me {
    me {
      id
      name
      email
      emailVerified
      role
    }
  }
`;

const LOGOUT = gql`
  mutation Logout {
    logout
  }
`;

const REQUEST_PASSWORD_RESET = gql`
  mutation RequestPasswordReset($email: String!) {
    requestPasswordReset(email: $email)
  }
`;

const RESET_PASSWORD = gql`
  mutation ResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
    }
  }
`;

const VERIFY_EMAIL = gql`
  mutation VerifyEmail($token: String!) {
    verifyEmail(token: $token)
  }
`;

const RESEND_VERIFICATION_EMAIL = gql`
  mutation ResendVerificationEmail {
    resendVerificationEmail
  }
`;

/** Signs in; COOKIE puts the refresh token in the HttpOnly cookie (the body's refreshToken is null). */
export async function logIn(email, password) {
  const { data } = await client.mutate({ mutation: LOGIN, variables: { input: { email, password, tokenTransport: 'COOKIE' } } });
  remember(data.login);
}

/** Asks for a reset link. The answer is the same whether the address has an account or not. */
export async function requestPasswordReset(email) {
  await client.mutate({ mutation: REQUEST_PASSWORD_RESET, variables: { email }, context: { anonymous: true } });
}

/**
 * Sets a new password with the token of a reset link. The API ends every session of the account and
 * signs in anew, as a login in cookie mode: the access token here, the refresh token in the cookie.
 */
export async function resetPassword(token, newPassword) {
  const { data } = await client.mutate({
    mutation: RESET_PASSWORD,
    variables: { input: { token, newPassword, tokenTransport: 'COOKIE' } },
    context: { anonymous: true },
  });
  remember(data.resetPassword);
}

/** Confirms an address with the token of a verification link. */
export async function verifyEmail(token) {
  await client.mutate({ mutation: VERIFY_EMAIL, variables: { token }, context: { anonymous: true } });
}

/** Mails a new verification link to the signed-in user; false when the address is already verified. */
export async function resendVerificationEmail() {
  const { data } = await client.mutate({ mutation: RESEND_VERIFICATION_EMAIL });
  return data.resendVerificationEmail;
}

/** On page load: true when the refresh cookie still holds a live session. */
export async function restoreSession() {
  try {
    await refreshAccessToken();
    return true;
  } catch (error) {
    if (error instanceof SessionEnded) return false;
    throw error;
  }
}

export async function loadProfile() {
  const { data } = await client.query({ query: ME, fetchPolicy: 'network-only' });
  return data.me;
}

/** Ends the session on the server (which clears the cookie), then forgets everything here. */
export async function logOut() {
  try {
    await client.mutate({ mutation: LOGOUT });
  } finally {
    forgetTokens();
    await client.clearStore();
  }
}
