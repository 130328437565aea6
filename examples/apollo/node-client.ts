/**
 * Apollo Client 4 in Node (a script, a worker, a back-end calling this API as a user), with the
 * refresh link of ./refresh-link.ts and an in-memory token store. Body token transport: Node has
 * no cookie jar, so the refresh token travels in the mutation's argument.
 *
 *   npm exec -- node -r @swc-node/register examples/apollo/node-client.ts   # against npm start
 *   GRAPHQL_URL=https://auth.example.com/graphql EMAIL=... PASSWORD=... npm exec -- node -r @swc-node/register examples/apollo/node-client.ts
 */
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache, type ErrorLike, type TypedDocumentNode } from '@apollo/client';
import { createAuthLink, type TokenStore, type Tokens } from './refresh-link';

/** Keeps the pair in memory. A long-running service might persist it (encrypted) instead. */
export class MemoryTokenStore implements TokenStore {
  private tokens: Tokens | null = null;
  getAccessToken(): string | null {
    return this.tokens?.accessToken ?? null;
  }
  getRefreshToken(): string | null {
    return this.tokens?.refreshToken ?? null;
  }
  setTokens(tokens: Tokens): void {
    this.tokens = tokens;
  }
  clear(): void {
    this.tokens = null;
  }
}

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  readonly uri: string;
  readonly store: TokenStore;
  readonly onSignedOut?: (error: ErrorLike) => void;
  /** The link that sends requests; default `new HttpLink({ uri })` with Node's fetch. */
  readonly httpLink?: ApolloLink;
}

export function createApolloClient({ uri, store, onSignedOut, httpLink = new HttpLink({ uri }) }: ClientOptions): ApolloClient {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([createAuthLink({ store, transport: 'body', ...(onSignedOut ? { onSignedOut } : {}) }), httpLink]),
    // A process may act for one user after another: always ask the server, never an old cache entry.
    defaultOptions: { query: { fetchPolicy: 'network-only' } },
  });
}

export interface Viewer {
  id: string;
  email: string | null;
  name: string;
  role: 'USER' | 'MODERATOR' | 'ADMIN';
}

interface AuthPayload {
  accessToken: string;
  refreshToken: string | null;
  user: Viewer;
}

/** What signup and login both return; Apollo's gql splices the fragment into each document. */
const AUTH_PAYLOAD = gql`
  fragment AuthPayloadFields on AuthPayload {
    accessToken
    refreshToken
    user {
      id
      email
      name
      role
    }
  }
`;

export const SIGNUP: TypedDocumentNode<{ signup: AuthPayload }, { input: { email: string; password: string; name: string } }> = gql`
  mutation Signup($input: SignupInput!) {
    signup(input: $input) {
      ...AuthPayloadFields
    }
  }
  ${AUTH_PAYLOAD}
`;

export const LOGIN: TypedDocumentNode<{ login: AuthPayload }, { input: { email: string; password: string } }> = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...AuthPayloadFields
    }
  }
  ${AUTH_PAYLOAD}
`;

export const ME: TypedDocumentNode<{ me: Viewer | null }, Record<string, never>> = gql`
  query Me {
    me {
      id
      email
      name
      role
    }
  }
`;

export const LOGOUT: TypedDocumentNode<{ logout: boolean | null }, Record<string, never>> = gql`
  mutation Logout {
    logout
  }
`;

export async function signUp(
  client: ApolloClient,
  store: TokenStore,
  input: { email: string; password: string; name: string },
): Promise<Viewer> {
  const { data } = await client.mutate({ mutation: SIGNUP, variables: { input }, fetchPolicy: 'no-cache' });
  if (!data) throw new Error('signup returned no data');
  store.setTokens(data.signup);
  return data.signup.user;
}

export async function logIn(client: ApolloClient, store: TokenStore, input: { email: string; password: string }): Promise<Viewer> {
  const { data } = await client.mutate({ mutation: LOGIN, variables: { input }, fetchPolicy: 'no-cache' });
  if (!data) throw new Error('login returned no data');
  store.setTokens(data.login);
  return data.login.user;
}

/** The signed-in user; fails with UNAUTHENTICATED when there is no usable session. */
export async function me(client: ApolloClient): Promise<Viewer> {
  const { data } = await client.query({ query: ME });
  if (!data?.me) throw new Error('me returned no user');
  return data.me;
}

/** Ends the session on the server, then forgets the tokens and everything cached for this user. */
export async function logOut(client: ApolloClient, store: TokenStore): Promise<void> {
  try {
    await client.mutate({ mutation: LOGOUT });
  } finally {
    store.clear();
    await client.clearStore();
  }
}

async function demo(): Promise<void> {
  const uri = process.env['GRAPHQL_URL'] ?? 'http://127.0.0.1:4000/graphql';
  const store = new MemoryTokenStore();
  const client = createApolloClient({ uri, store, onSignedOut: (error) => process.stderr.write(`signed out: ${error.message}\n`) });
  const email = process.env['EMAIL'] ?? `demo-${String(Date.now())}@example.com`;
  const password = process.env['PASSWORD'] ?? 'correct horse battery staple';
  const viewer = process.env['EMAIL']
    ? await logIn(client, store, { email, password })
    : await signUp(client, store, { email, password, name: 'Demo' });
  process.stdout.write(`signed in as ${viewer.email ?? viewer.name} (${viewer.role})\n`);
  // Any later call refreshes the access token by itself when it has expired.
  process.stdout.write(`me: ${JSON.stringify(await me(client))}\n`);
  await logOut(client, store);
  process.stdout.write('logged out\n');
}

if (require.main === module) {
  demo().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  });
}
