import type { User } from './user.entity';

/**
 * A read-only copy of an account's row, as a request reads it for its viewer: not an entity, so no
 * unit of work tracks it, hydrates it or collects it afterwards. It holds every eagerly loaded
 * column of `User` (the hidden, lazy ones never), so it answers as the GraphQL type `User` does,
 * and the auth checker treats it as the user its fields belong to. Frozen: changing the account
 * goes through `UserService` in a unit of work.
 */
export class UserSnapshot {
  declare readonly id: User['id'];
  declare readonly email: User['email'];
  declare readonly name: User['name'];
  declare readonly role: User['role'];
  declare readonly isActive: User['isActive'];
  declare readonly createdAt: User['createdAt'];
  declare readonly lastLoginAt: User['lastLoginAt'];
  declare readonly emailVerified: User['emailVerified'];
  declare readonly mfaEnabled: User['mfaEnabled'];

  /** `properties`: the row by property name (not column name), values converted as the ORM converts them. */
  constructor(properties: Readonly<Record<string, unknown>>) {
    Object.assign(this, properties);
    Object.freeze(this);
  }
}
