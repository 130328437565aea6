import { registerEnumType } from 'type-graphql';

export enum Role {
  USER = 'USER',
  MODERATOR = 'MODERATOR',
  ADMIN = 'ADMIN',
}

const ROLES: readonly string[] = Object.values(Role);

/** True for the name of a role, e.g. a claim read from a token or an argument of the CLI. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && ROLES.includes(value);
}

registerEnumType(Role, {
  name: 'Role',
  description: 'USER: every account from signup. MODERATOR: may read other accounts. ADMIN: may also administer them.',
});
