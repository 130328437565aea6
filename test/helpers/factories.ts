import { randomBytes } from 'node:crypto';
import { Role } from '../../src/access/role';
import type { TestApp } from './app';
import { gql } from './graphql';

export const AUTH_FIELDS = `accessToken accessTokenExpiresAt refreshToken user { id email name role }`;

export interface SignedIn {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
}

export const PASSWORD = 'correct horse battery';

/** Signs up through the API and returns the session's tokens. */
export async function signUp(app: TestApp, overrides: { email?: string; name?: string; password?: string } = {}): Promise<SignedIn> {
  const input = { email: overrides.email ?? uniqueEmail(), name: overrides.name ?? 'Test User', password: overrides.password ?? PASSWORD };
  const res = await gql(app, `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`, { input });
  if (res.errors || !res.data) throw new Error(`signup failed: ${JSON.stringify(res.errors)}`);
  const payload = res.data['signup'];
  return {
    id: payload.user.id,
    email: input.email,
    password: input.password,
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
  };
}

export async function logIn(app: TestApp, email: string, password: string): Promise<SignedIn> {
  const res = await gql(app, `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`, { input: { email, password } });
  if (res.errors || !res.data) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  const payload = res.data['login'];
  return { id: payload.user.id, email, password, accessToken: payload.accessToken, refreshToken: payload.refreshToken };
}

/**
 * An account with a raised role. Signup always makes a USER, so the factory creates
 * the account through the user service (as the bootstrap and the CLI do), then logs in over HTTP.
 */
export async function userWithRole(app: TestApp, role: Role): Promise<SignedIn> {
  const email = uniqueEmail(role.toLowerCase());
  await app.app.services.users.create(app.app.orm.em.fork(), { email, name: `${role} user`, password: PASSWORD, role });
  return logIn(app, email, PASSWORD);
}

export { Role };
