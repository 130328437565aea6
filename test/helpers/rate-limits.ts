import { AuditEvent, AuditEventType } from '../../src/audit/audit-event.entity';
import { Role } from '../../src/access/role';
import type { TestApp } from './app';
import { PASSWORD, uniqueEmail } from './factories';
import { codes, gql, type GraphQLResponse } from './graphql';

export const LOGIN = `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`;

export function login(
  app: Pick<TestApp, 'url'>,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse> {
  return gql(app, LOGIN, { input: { email, password } }, { headers });
}

/** `ok`, or the error's code/reason: `UNAUTHENTICATED/INVALID_CREDENTIALS`, `RATE_LIMITED`, ... */
export function outcome(response: GraphQLResponse<unknown>): string {
  return response.errors ? codes(response).join(',') : 'ok';
}

/** How many responses had each outcome. */
export function tally(responses: readonly GraphQLResponse<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const response of responses) counts[outcome(response)] = (counts[outcome(response)] ?? 0) + 1;
  return counts;
}

/**
 * An account created beside the API (as the CLI does), so that creating it takes nothing from
 * the signup or login buckets under test.
 */
export async function account(app: TestApp, email = uniqueEmail('target')): Promise<{ id: string; email: string }> {
  const user = await app.app.services.users.create(app.app.orm.em.fork(), {
    email,
    name: 'Target',
    password: PASSWORD,
    role: Role.USER,
  });
  return { id: user.id, email };
}

/** Logins that reached the resolver for this account, from the audit log the resolver writes. */
export function evaluatedLogins(app: TestApp, userId: string): Promise<number> {
  return app.app.orm.em
    .fork()
    .count(AuditEvent, { subjectId: userId, type: { $in: [AuditEventType.LOGIN_FAILED, AuditEventType.LOGIN_SUCCEEDED] } });
}

/** The RATE_LIMITED error of a response, with a retryAfter that is a whole number of seconds. */
export function retryAfterOf(response: GraphQLResponse<unknown>): number {
  const error = response.errors?.find((e) => e.extensions?.code === 'RATE_LIMITED');
  if (!error) throw new Error(`expected RATE_LIMITED, got ${JSON.stringify(response.errors ?? response.data)}`);
  const retryAfter = error.extensions?.['retryAfter'];
  if (typeof retryAfter !== 'number' || !Number.isInteger(retryAfter))
    throw new Error(`retryAfter is not whole seconds: ${String(retryAfter)}`);
  return retryAfter;
}
