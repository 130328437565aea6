import { randomUUID } from 'node:crypto';
import type { TestApp } from './app';

export interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; reason?: string; fields?: Record<string, string>; [key: string]: unknown };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors: GraphQLError[] | undefined;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
}

/** A GraphQL-over-HTTP POST, as a client sends it. */
export async function gql<T = Record<string, any>>(
  app: Pick<TestApp, 'url'>,
  query: string,
  variables: Record<string, unknown> = {},
  options: RequestOptions = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: GraphQLError[] };
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
}

/** The errors' `code/reason` pairs, for compact assertions. */
export function codes(response: Pick<GraphQLResponse<unknown>, 'errors'>): string[] {
  return (response.errors ?? []).map((e) => [e.extensions?.code, e.extensions?.reason].filter(Boolean).join('/'));
}

/** A GraphQL POST as raw text, for byte-for-byte comparisons; its fresh x-request-id ties it to the app's log. */
export interface RawReply {
  readonly status: number;
  readonly contentType: string | null;
  readonly retryAfter: string | null;
  readonly text: string;
  readonly requestId: string;
}

export interface RawPostOptions {
  readonly token?: string | undefined;
  readonly accept?: string;
  readonly signal?: AbortSignal;
}

/** POSTs `body` (sent as it is) to /graphql and answers the reply unparsed. */
export async function postRaw(app: Pick<TestApp, 'url'>, body: Record<string, unknown>, options: RawPostOptions = {}): Promise<RawReply> {
  const requestId = randomUUID();
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': requestId,
      ...(options.accept ? { accept: options.accept } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    retryAfter: response.headers.get('retry-after'),
    text: await response.text(),
    requestId,
  };
}

/** What an app logged (its JSON lines, as startTestApp's logLines collects them) for one request id. */
export function logEntriesOf(logLines: readonly string[], requestId: string): (Record<string, unknown> & { msg?: string })[] {
  return logLines
    .map((line) => JSON.parse(line) as Record<string, unknown> & { requestId?: string; msg?: string })
    .filter((entry) => entry.requestId === requestId);
}
