// A typed client of the example operations: Apollo Client 4 with the documents generated into
// examples/generated/ by `npm run codegen`. `npm run codegen:check` type-checks this file against a
// fresh generation, so a schema change that would break such a client fails there, not in production.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import {
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  SessionsDocument,
  SetUserRoleDocument,
  UsersDocument,
  type AdminUserFieldsFragment,
  type LoginMutation,
  type MeQuery,
  type Role,
  type SessionsQuery,
  type SessionTokensFragment,
  type UsersQuery,
  type UsersQueryVariables,
} from '../generated/graphql';

export type Viewer = NonNullable<MeQuery['me']>;
export type SignedIn = LoginMutation['login'];
export type Session = NonNullable<SessionsQuery['sessions']>[number];

/** Where the client keeps the current access token (in memory: never in localStorage). */
export interface TokenStore {
  accessToken: string | null;
}

/** A client that sends the stored access token as `Authorization: Bearer ...` on every request. */
export function createClient(uri: string, tokens: TokenStore): ApolloClient {
  const auth = new SetContextLink((previous) => ({
    headers: {
      ...(previous['headers'] as Record<string, string> | undefined),
      ...(tokens.accessToken ? { authorization: `Bearer ${tokens.accessToken}` } : {}),
    },
  }));
  return new ApolloClient({ link: ApolloLink.from([auth, new HttpLink({ uri })]), cache: new InMemoryCache() });
}

/** Every role, and what a settings screen calls it. Exhaustive: a new role fails to type-check here. */
export function roleLabel(role: Role): string {
  switch (role) {
    case 'USER':
      return 'Member';
    case 'MODERATOR':
      return 'Moderator';
    case 'ADMIN':
      return 'Administrator';
  }
}

/** One line for a profile header; `email` is null only when the server withheld it. */
export function describeViewer(me: Viewer): string {
  const email = me.email === null ? '' : ` <${me.email.toLowerCase()}>`;
  return `${me.name.trim()}${email}, ${roleLabel(me.role)} since ${new Date(me.createdAt).toISOString().slice(0, 10)}`;
}

/** Logs in in body mode and keeps the access token; the caller stores the returned refresh token. */
export async function logIn(client: ApolloClient, tokens: TokenStore, email: string, password: string): Promise<SignedIn> {
  const { data } = await client.mutate({ mutation: LoginDocument, variables: { input: { email, password, tokenTransport: 'BODY' } } });
  if (!data) throw new Error('login returned no data');
  tokens.accessToken = data.login.accessToken;
  return data.login;
}

/** Trades a refresh token (single use) for a new pair. */
export async function refresh(client: ApolloClient, tokens: TokenStore, refreshToken: string): Promise<SessionTokensFragment> {
  const { data } = await client.mutate({ mutation: RefreshTokenDocument, variables: { token: refreshToken } });
  if (!data) throw new Error('refreshToken returned no data');
  tokens.accessToken = data.refreshToken.accessToken;
  return data.refreshToken;
}

export async function logOut(client: ApolloClient, tokens: TokenStore): Promise<boolean> {
  const { data } = await client.mutate({ mutation: LogoutDocument });
  tokens.accessToken = null;
  return data?.logout === true;
}

/** The signed-in user; null when not signed in (the server answers UNAUTHENTICATED and a null `me`). */
export async function fetchViewer(client: ApolloClient): Promise<Viewer | null> {
  const { data } = await client.query({ query: MeDocument, fetchPolicy: 'network-only', errorPolicy: 'all' });
  return data?.me ?? null;
}

/** The viewer's live sessions, the one making this request first. */
export async function fetchSessions(client: ApolloClient): Promise<Session[]> {
  const { data } = await client.query({ query: SessionsDocument, fetchPolicy: 'network-only' });
  return [...(data?.sessions ?? [])].sort((a, b) => Number(b.current) - Number(a.current));
}

export type UsersPage = NonNullable<UsersQuery['users']>;

/** One page of accounts (MODERATOR or ADMIN); any other viewer gets a FORBIDDEN error (thrown). */
export async function fetchUsersPage(client: ApolloClient, variables: UsersQueryVariables): Promise<UsersPage | null> {
  const { data } = await client.query({ query: UsersDocument, variables, fetchPolicy: 'network-only' });
  return data?.users ?? null;
}

/** Every account matching the filters, following the cursor page by page. */
export async function fetchAllUsers(
  client: ApolloClient,
  filters: Pick<UsersQueryVariables, 'role' | 'search'> = {},
  pageSize = 100,
): Promise<AdminUserFieldsFragment[]> {
  const users: AdminUserFieldsFragment[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await fetchUsersPage(client, { ...filters, first: pageSize, after });
    if (!page) return users;
    users.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return users;
    after = page.pageInfo.endCursor;
  }
}

/** ADMIN only; the new role applies on the user's next request. */
export async function setRole(client: ApolloClient, userId: string, role: Role): Promise<Role | null> {
  const { data } = await client.mutate({ mutation: SetUserRoleDocument, variables: { userId, role } });
  return data?.setUserRole?.role ?? null;
}
