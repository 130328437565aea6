import type { TestApp } from './app';

/**
 * For tests that take a dependency away (a database stopped, frozen or locked, Redis frozen):
 * requests that must be answered at all within a deadline, and the masked answer they expect.
 */

export interface Answer {
  status: number;
  text: string;
  data: Record<string, any> | null | undefined;
  errors: { message: string; extensions?: { code?: string; reason?: string } }[] | undefined;
}

/** A GraphQL POST that must be answered, whatever the answer, within `withinMs`; otherwise it throws. */
export async function postWithin(
  withinMs: number,
  app: Pick<TestApp, 'url'>,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string; requestId?: string } = {},
): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(withinMs),
    });
  } catch (error) {
    throw new Error(`no answer within ${String(withinMs)} ms: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  const body = JSON.parse(text) as Pick<Answer, 'data' | 'errors'>;
  return { status: response.status, text, data: body.data, errors: body.errors };
}

/** `ok`, or the errors' `code/reason` pairs. */
export function outcome(answer: Pick<Answer, 'errors'>): string {
  if (!answer.errors) return 'ok';
  return answer.errors.map((e) => [e.extensions?.code, e.extensions?.reason].filter(Boolean).join('/')).join(',');
}

/** The masked answer of an operation that needed the database while it was away: nothing of `driverText` in it. */
export function expectUnavailable(answer: Answer, driverText: RegExp): void {
  expect(outcome(answer)).toBe('SERVICE_UNAVAILABLE');
  expect(answer.errors?.[0]?.message).toBe('The service is temporarily unavailable; try again shortly');
  expect(answer.text).not.toMatch(driverText);
}

/** The HTTP status of a GET, which must come within `withinMs`. */
export async function statusWithin(withinMs: number, app: Pick<TestApp, 'url'>, route: string): Promise<number> {
  return (await fetch(`${app.url}${route}`, { signal: AbortSignal.timeout(withinMs) })).status;
}

/** Any request (a promise) that must settle within `withinMs`, whatever its answer; otherwise it rejects. */
export async function answeredWithin<T>(withinMs: number, request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(withinMs)} ms`));
    }, withinMs);
  });
  try {
    return await Promise.race([request, late]);
  } finally {
    clearTimeout(timer);
  }
}
