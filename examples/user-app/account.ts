// An account page for signed-in users, typed from schema.USER.graphql (see USER_APP_CLIENT in
// codegen.ts): its generated documents only hold what a USER may run, so importing an ADMIN-only
// operation here, or adding one to its documents, fails `npm run codegen:check` instead of answering
// FORBIDDEN in production (test/cli/codegen-check.test.ts shows both).
import type { ApolloClient } from '@apollo/client';
import {
  LogoutAllDocument,
  MeDocument,
  RevokeSessionDocument,
  SessionsDocument,
  type MeQuery,
  type SessionsQuery,
} from './generated/graphql';

export type Account = NonNullable<MeQuery['me']>;
export type AccountSession = NonNullable<SessionsQuery['sessions']>[number];

/** The viewer and their live sessions, this one first; null when not signed in. */
export async function loadAccount(client: ApolloClient): Promise<{ account: Account; sessions: AccountSession[] } | null> {
  const [me, sessions] = await Promise.all([
    client.query({ query: MeDocument, fetchPolicy: 'network-only', errorPolicy: 'all' }),
    client.query({ query: SessionsDocument, fetchPolicy: 'network-only', errorPolicy: 'all' }),
  ]);
  const account = me.data?.me;
  if (!account) return null;
  const live = [...(sessions.data?.sessions ?? [])].sort((a, b) => Number(b.current) - Number(a.current));
  return { account, sessions: live };
}

/** Signs out one device; false when it was already gone. */
export async function signOutDevice(client: ApolloClient, id: string): Promise<boolean> {
  const { data } = await client.mutate({ mutation: RevokeSessionDocument, variables: { id } });
  return data?.revokeSession === true;
}

/** Signs out everywhere, this device included. */
export async function signOutEverywhere(client: ApolloClient): Promise<boolean> {
  const { data } = await client.mutate({ mutation: LogoutAllDocument });
  return data?.logoutAll === true;
}
