// The one way bench/ talks GraphQL to a server it started: a POST to <server>/graphql with
// variables, an optional bearer token, timeout and abort signal. Load generators (autocannon,
// bench/lib/load.ts) keep their own prebuilt request bodies.

export interface GraphQLError {
  readonly message: string;
  readonly extensions?: { readonly code?: string; readonly reason?: string };
}

export interface GraphQLBody {
  readonly data?: any;
  readonly errors?: readonly GraphQLError[];
}

export interface GraphQLResponse {
  readonly status: number;
  /** The raw answer, for reporting one that is not what was expected. */
  readonly text: string;
  /** The parsed answer; undefined when it is not a JSON object. */
  readonly body: GraphQLBody | undefined;
}

export interface RequestOptions {
  readonly variables?: Record<string, unknown>;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** Gives up (a `TimeoutError`) when the answer has not arrived within this many ms. */
  readonly timeoutMs?: number;
  /** Gives up (an `AbortError`) when this aborts. */
  readonly signal?: AbortSignal;
}

/**
 * Posts one GraphQL request to `serverUrl` (`http://host:port`, without `/graphql`). Resolves
 * with whatever HTTP answer arrives, GraphQL errors included; rejects only when none does
 * (network error, timeout, abort).
 */
export async function postGraphQL(serverUrl: string, query: string, options: RequestOptions = {}): Promise<GraphQLResponse> {
  const { variables = {}, token, timeoutMs, signal } = options;
  const signals = [...(signal ? [signal] : []), ...(timeoutMs === undefined ? [] : [AbortSignal.timeout(timeoutMs)])];
  const res = await fetch(`${serverUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
  });
  const text = await res.text();
  let body: GraphQLBody | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed;
  } catch {
    // not JSON: body stays undefined, the caller reports `text`
  }
  return { status: res.status, text, body };
}

/** The `data` of a 200 answer without errors; throws with what came back otherwise. */
export async function graphqlData(serverUrl: string, query: string, options: RequestOptions = {}): Promise<any> {
  const { status, text, body } = await postGraphQL(serverUrl, query, options);
  if (status !== 200 || body === undefined || body.errors !== undefined || body.data === undefined) {
    throw new Error(`${serverUrl}/graphql answered HTTP ${String(status)}: ${text.slice(0, 500)}`);
  }
  return body.data;
}

export interface AuthPayload {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly user: { readonly id: string };
}

// `user.email` is visible to the user themself only: signup answers as the new user, login
// (a request without a token) does not, so it asks for the id alone.
export const SIGNUP = 'mutation Signup($i: SignupInput!) { signup(input: $i) { accessToken refreshToken user { id email } } }';
export const LOGIN = 'mutation Login($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id } } }';

/** `value` (a `signup` or `login` field) as an AuthPayload with both tokens in the body, or undefined. */
export function asAuthPayload(value: any): AuthPayload | undefined {
  return typeof value?.accessToken === 'string' && typeof value.refreshToken === 'string' && typeof value.user?.id === 'string'
    ? (value as AuthPayload)
    : undefined;
}

export interface SignupInput {
  readonly email: string;
  readonly password: string;
  readonly name: string;
}

/** Creates an account; throws when the server refuses. */
export async function signup(serverUrl: string, input: SignupInput): Promise<AuthPayload> {
  const data = await graphqlData(serverUrl, SIGNUP, { variables: { i: input } });
  const payload = asAuthPayload(data?.signup);
  if (!payload) throw new Error(`signup on ${serverUrl}: unexpected data ${JSON.stringify(data)}`);
  return payload;
}

/** Logs in; throws when the server refuses. */
export async function login(serverUrl: string, input: { readonly email: string; readonly password: string }): Promise<AuthPayload> {
  const data = await graphqlData(serverUrl, LOGIN, { variables: { i: input } });
  const payload = asAuthPayload(data?.login);
  if (!payload) throw new Error(`login on ${serverUrl}: unexpected data ${JSON.stringify(data)}`);
  return payload;
}
