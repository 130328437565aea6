// The session in cookie mode. The access token lives only in this module's memory; the refresh
// token is an HttpOnly, SameSite=Strict cookie set by the API on /graphql, which page JavaScript
// never sees. On page load and whenever the access token has expired, the cookie buys a new one.
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { from, switchMap } from 'rxjs';

/**
 * The GraphQL endpoint. By default the API on port 4000 of the host that served this page: the same
 * site, so the SameSite=Strict refresh cookie travels with `credentials: 'include'`.
 */
export const API_URL = import.meta.env.VITE_API_URL ?? `${location.protocol}//${location.hostname}:4000/graphql`;

let accessToken = null;
let accessTokenExpiresAt = null;
let refreshing = null;
/** The mfaToken of a login that answered MFA_REQUIRED, until verifyMfa uses it (memory only, like the access token). */
let pendingMfaToken = null;

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

const AUTH_PAYLOAD = gql`
  fragment SessionTokens on AuthPayload {
    accessToken
    accessTokenExpiresAt
    refreshToken
  }
`;

const LOGIN = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
    }
  }
`;

const VERIFY_MFA = gql`
  mutation VerifyMfa($input: VerifyMfaInput!) {
    verifyMfa(input: $input) {
      ...SessionTokens
    }
  }
  ${AUTH_PAYLOAD}
`;

const START_PASSKEY_LOGIN = gql`
  mutation StartPasskeyLogin {
    startPasskeyLogin
  }
`;

const FINISH_PASSKEY_LOGIN = gql`
  mutation FinishPasskeyLogin($response: JSONObject!) {
    finishPasskeyLogin(response: $response, tokenTransport: COOKIE) {
      ...SessionTokens
    }
  }
  ${AUTH_PAYLOAD}
`;

/** The profile and its security settings: whether TOTP is on, and the passkeys. */
const ME = gql`
  query Me {
    me {
      id
      name
      email
      emailVerified
      role
      mfaEnabled
    }
    passkeys {
      id
      name
      createdAt
      lastUsedAt
    }
  }
`;

const ENROLL_TOTP = gql`
  mutation EnrollTotp {
    enrollTotp {
      secret
      otpauthUri
    }
  }
`;

const CONFIRM_TOTP = gql`
  mutation ConfirmTotp($code: String!) {
    confirmTotp(code: $code)
  }
`;

const DISABLE_TOTP = gql`
  mutation DisableTotp($code: String!) {
    disableTotp(code: $code)
  }
`;

const START_PASSKEY_REGISTRATION = gql`
  mutation StartPasskeyRegistration {
    startPasskeyRegistration
  }
`;

const FINISH_PASSKEY_REGISTRATION = gql`
  mutation FinishPasskeyRegistration($response: JSONObject!, $name: String) {
    finishPasskeyRegistration(response: $response, name: $name) {
      id
      name
      createdAt
      lastUsedAt
    }
  }
`;

const DELETE_PASSKEY = gql`
  mutation DeletePasskey($id: ID!) {
    deletePasskey(id: $id)
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

/**
 * Signs in; COOKIE puts the refresh token in the HttpOnly cookie (the body's refreshToken is null).
 * False when the account has TOTP on: the password was right, and verifyMfa with a code finishes the login.
 */
export async function logIn(email, password) {
  pendingMfaToken = null;
  try {
    const { data } = await client.mutate({ mutation: LOGIN, variables: { input: { email, password, tokenTransport: 'COOKIE' } } });
    remember(data.login);
    return true;
  } catch (error) {
    const mfa = CombinedGraphQLErrors.is(error) && error.errors.find((e) => e.extensions?.reason === 'MFA_REQUIRED');
    if (!mfa || typeof mfa.extensions.mfaToken !== 'string') throw error;
    pendingMfaToken = mfa.extensions.mfaToken;
    return false;
  }
}

/**
 * The second step of a login: the code of the authenticator app (or a recovery code) with the
 * login's mfaToken. The session comes as the login's did (COOKIE). A wrong code keeps the token for
 * another try; TOKEN_INVALID or TOKEN_EXPIRED means signing in again.
 */
export async function verifyMfa(code) {
  if (!pendingMfaToken) throw new SessionEnded('Sign in again.');
  // anonymous: no access token goes along, and TOKEN_EXPIRED is about the mfaToken, not a reason to refresh.
  const { data } = await client.mutate({
    mutation: VERIFY_MFA,
    variables: { input: { mfaToken: pendingMfaToken, code, tokenTransport: 'COOKIE' } },
    context: { anonymous: true },
  });
  pendingMfaToken = null;
  remember(data.verifyMfa);
}

/** Abandons a login waiting for its second step. */
export function cancelMfa() {
  pendingMfaToken = null;
}

/**
 * Signs in with a passkey, without an email: the API's options name no credential, so the browser
 * offers the discoverable ones it holds for this site. The assertion alone gives the session.
 */
export async function logInWithPasskey() {
  const { data: start } = await client.mutate({ mutation: START_PASSKEY_LOGIN, context: { anonymous: true } });
  const response = await startAuthentication({ optionsJSON: start.startPasskeyLogin });
  const { data } = await client.mutate({ mutation: FINISH_PASSKEY_LOGIN, variables: { response }, context: { anonymous: true } });
  remember(data.finishPasskeyLogin);
}

/** A new TOTP seed, not active until confirmTotp: `{ secret, otpauthUri }`. */
export async function enrollTotp() {
  const { data } = await client.mutate({ mutation: ENROLL_TOTP });
  return data.enrollTotp;
}

/** Turns TOTP on with a first code of the app; returns the ten recovery codes, which the API never shows again. */
export async function confirmTotp(code) {
  const { data } = await client.mutate({ mutation: CONFIRM_TOTP, variables: { code } });
  return data.confirmTotp;
}

/** Turns TOTP off with a current code or a recovery code. */
export async function disableTotp(code) {
  await client.mutate({ mutation: DISABLE_TOTP, variables: { code } });
}

/** Creates a passkey on this device (the browser asks the authenticator) and stores it under `name`. */
export async function registerPasskey(name) {
  const { data: start } = await client.mutate({ mutation: START_PASSKEY_REGISTRATION });
  const response = await startRegistration({ optionsJSON: start.startPasskeyRegistration });
  await client.mutate({ mutation: FINISH_PASSKEY_REGISTRATION, variables: { response, name: name || null } });
}

/** Deletes one of the user's passkeys. */
export async function deletePasskey(id) {
  await client.mutate({ mutation: DELETE_PASSKEY, variables: { id } });
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

/** `{ me, passkeys }`: the profile with whether TOTP is on, and the user's passkeys. */
export async function loadProfile() {
  const { data } = await client.query({ query: ME, fetchPolicy: 'network-only' });
  return data;
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
