import { UniqueConstraintViolationException, type FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type { PasswordService } from '../auth/password.service';
import { InvalidInput } from '../errors';
import { Role } from './role';
import { User } from './user.entity';
import { USERS_PAGE_DEFAULT, type UserConnection, type UsersArgs } from './user.types';
import { normalizeEmail, normalizeName } from './user.validation';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!UUID.test(id)) throw new InvalidInput({ after: 'is not a valid cursor' });
  return id;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface NewUser {
  readonly email: string;
  readonly name: string;
  readonly password: string;
  readonly role: Role;
}

export class UserService {
  constructor(private readonly passwords: PasswordService) {}

  /**
   * Creates an account. The unique index decides races: of many concurrent signups with
   * one email exactly one insert wins, the others get a field error on `email`.
   */
  async create(em: SqlEntityManager, input: NewUser): Promise<User> {
    const passwordHash = await this.passwords.hash(input.password);
    const user = em.create(User, {
      email: normalizeEmail(input.email),
      name: normalizeName(input.name),
      passwordHash,
      role: input.role,
    });
    try {
      await em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        em.clear();
        throw new InvalidInput({ email: 'is already registered' });
      }
      throw error;
    }
    return user;
  }

  /** Creates the first ADMIN unless a user already has that email (safe to run at every start). */
  async ensureAdmin(em: SqlEntityManager, admin: { email: string; password: string }): Promise<'created' | 'exists'> {
    if (await em.count(User, { email: normalizeEmail(admin.email) })) return 'exists';
    try {
      await this.create(em, { email: admin.email, password: admin.password, name: 'Administrator', role: Role.ADMIN });
      return 'created';
    } catch (error) {
      if (error instanceof InvalidInput) return 'exists';
      throw error;
    }
  }

  findById(em: SqlEntityManager, id: string): Promise<User | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return em.findOne(User, { id });
  }

  /** Keyset pagination on the time-ordered primary key: every page costs one index range scan. */
  async list(em: SqlEntityManager, args: UsersArgs): Promise<UserConnection> {
    const first = args.first ?? USERS_PAGE_DEFAULT;
    const filter: FilterQuery<User> = {};
    if (args.role) filter.role = args.role;
    const search = args.search?.trim();
    if (search) {
      const pattern = `%${escapeLike(search.toLowerCase())}%`;
      filter.$or = [{ name: { $ilike: pattern } }, { email: { $like: pattern } }];
    }
    const page: FilterQuery<User> = args.after ? { ...filter, id: { $gt: decodeCursor(args.after) } } : filter;
    const [rows, totalCount] = await Promise.all([
      em.find(User, page, { orderBy: { id: 'asc' }, limit: first + 1 }),
      em.count(User, filter),
    ]);
    const nodes = rows.slice(0, first);
    const edges = nodes.map((node) => ({ cursor: encodeCursor(node.id), node }));
    return {
      edges,
      pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
      totalCount,
    };
  }
}
