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
export function codes(response: GraphQLResponse<unknown>): string[] {
  return (response.errors ?? []).map((e) => [e.extensions?.code, e.extensions?.reason].filter(Boolean).join('/'));
}
