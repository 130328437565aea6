import { LockMode, UniqueConstraintViolationException, type FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { Role } from '../access/role';
import type { PasswordHasher } from '../credentials/password.hasher';
import { isUuid } from '../db/uuid';
import { ConfigError } from '../config/env';
import { InvalidInput } from '../errors';
import { connectionFrom, decodeCursor, type ConnectionShape } from '../graphql/connection';
import { normalizeName } from '../validation/display-name';
import { emailSkeleton, normalizeEmail } from '../validation/email';
import { User } from './user.entity';
import { USERS_PAGE_DEFAULT, type UsersArgs } from './user.types';

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface NewUser {
  readonly email: string;
  readonly name: string;
  readonly password: string;
  readonly role: Role;
}

/** An account to insert, its password already hashed (hashing never runs inside a transaction). */
export interface NewAccount {
  readonly email: string;
  readonly name: string;
  readonly passwordHash: string;
  readonly role: Role;
}

/** Counts below this are always exact; at or above it a count may be reused for COUNT_TTL_MS. */
const EXACT_COUNT_BELOW = 10_000;
const COUNT_TTL_MS = 10_000;
const COUNT_CACHE_MAX = 1_000;

/** The `users` table: every read and write of accounts goes through here. */
export class UserService {
  /** totalCount per filter, reused briefly once counting gets expensive (see countMatching). */
  private readonly counts = new Map<string, { readonly count: number; readonly at: number }>();

  constructor(private readonly passwords: PasswordHasher) {}

  /** Hashes a password for `insert`, outside any transaction. */
  hashPassword(password: string, signal?: AbortSignal): Promise<string> {
    return this.passwords.hash(password, signal);
  }

  /**
   * Inserts an account, in the caller's transaction. The unique index decides races: of many
   * concurrent signups with one email exactly one insert wins, the others get a field error on
   * `email` (and their transaction rolls back).
   */
  async insert(em: SqlEntityManager, account: NewAccount): Promise<User> {
    const email = normalizeEmail(account.email);
    const user = em.create(User, {
      email,
      emailSkeleton: emailSkeleton(email),
      name: normalizeName(account.name),
      passwordHash: account.passwordHash,
      role: account.role,
    });
    try {
      await em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw new InvalidInput({ email: 'is already registered' });
      throw error;
    }
    return user;
  }

  /** Creates an account on its own (bootstrap admin, `user:create`): hashes, then inserts in a transaction. */
  async create(em: SqlEntityManager, input: NewUser): Promise<User> {
    const passwordHash = await this.hashPassword(input.password);
    return em.transactional((tx) => this.insert(tx, { email: input.email, name: input.name, passwordHash, role: input.role }));
  }

  /**
   * Creates the first ADMIN unless that ADMIN exists (safe to run at every start). An account of
   * that email that is not an ADMIN stops start-up: it is never promoted, since whoever registered
   * it would become an administrator.
   */
  async ensureAdmin(em: SqlEntityManager, admin: { email: string; password: string }): Promise<'created' | 'exists'> {
    const existing = async (): Promise<'exists' | undefined> => {
      const user = await em.findOne(User, { email: normalizeEmail(admin.email) }, { refresh: true });
      if (!user) return undefined;
      if (user.role !== Role.ADMIN) {
        throw new ConfigError(
          'BOOTSTRAP_ADMIN_EMAIL',
          `names an existing account that is not an ADMIN (it is ${user.role}); it is not promoted: choose another email, or raise that account with setUserRole as an ADMIN`,
        );
      }
      return 'exists';
    };
    if (await existing()) return 'exists';
    try {
      await this.create(em, { email: admin.email, password: admin.password, name: 'Administrator', role: Role.ADMIN });
      return 'created';
    } catch (error) {
      // Another instance created it meanwhile.
      if (error instanceof InvalidInput && (await existing())) return 'exists';
      throw error;
    }
  }

  findById(em: SqlEntityManager, id: string): Promise<User | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return em.findOne(User, { id });
  }

  /** The account of an email with its password hash, for checking a password; null when there is none. */
  async findForLogin(em: SqlEntityManager, email: string): Promise<{ user: User; passwordHash: string } | null> {
    const user = await em.findOne(User, { email: normalizeEmail(email) }, { populate: ['passwordHash'] });
    return user ? { user, passwordHash: user.passwordHash } : null;
  }

  /**
   * The account's credentials and state as they are now, with its row locked until the caller's
   * transaction ends: a session is only created, or a password only changed, against credentials
   * and an account state that still hold when it commits.
   */
  async lockCredentials(
    tx: SqlEntityManager,
    userId: string,
  ): Promise<{ passwordHash: string; isActive: boolean; emailVerified: boolean; mfaEnabled: boolean } | null> {
    if (!tx.isInTransaction()) throw new Error('credentials are locked inside a transaction');
    const user = await tx.findOne(
      User,
      { id: userId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['passwordHash'], refresh: true },
    );
    return user
      ? { passwordHash: user.passwordHash, isActive: user.isActive, emailVerified: user.emailVerified, mfaEnabled: user.mfaEnabled }
      : null;
  }

  findByEmail(em: SqlEntityManager, email: string): Promise<User | null> {
    return em.findOne(User, { email: normalizeEmail(email) }, { refresh: true });
  }

  /** True when an account has this address, or one that looks like it (the same UTS #39 skeleton). */
  async isEmailTaken(em: SqlEntityManager, email: string): Promise<boolean> {
    const normalized = normalizeEmail(email);
    return (await em.count(User, { $or: [{ email: normalized }, { emailSkeleton: emailSkeleton(normalized) }] })) > 0;
  }

  /** Whether login asks for a second factor; in the caller's transaction. */
  async setMfaEnabled(tx: SqlEntityManager, userId: string, enabled: boolean): Promise<void> {
    await tx.nativeUpdate(User, { id: userId }, { mfaEnabled: enabled, updatedAt: new Date() });
  }

  /** In the caller's transaction. */
  async markEmailVerified(tx: SqlEntityManager, user: User): Promise<void> {
    await tx.nativeUpdate(User, { id: user.id }, { emailVerified: true });
    user.emailVerified = true;
  }

  /**
   * Moves the account to a verified new address, in the caller's transaction. The unique indexes
   * decide: an address taken meanwhile (or one that looks like it) is a field error on `newEmail`.
   */
  async changeEmail(tx: SqlEntityManager, user: User, newEmail: string): Promise<void> {
    const email = normalizeEmail(newEmail);
    try {
      await tx.nativeUpdate(User, { id: user.id }, { email, emailSkeleton: emailSkeleton(email), emailVerified: true });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw new InvalidInput({ newEmail: 'is already registered' });
      throw error;
    }
    user.email = email;
    user.emailVerified = true;
  }

  async passwordHashOf(em: SqlEntityManager, userId: string): Promise<string> {
    const { passwordHash } = await em.findOneOrFail(User, { id: userId }, { populate: ['passwordHash'] });
    return passwordHash;
  }

  async setPasswordHash(em: SqlEntityManager, userId: string, passwordHash: string): Promise<void> {
    await em.nativeUpdate(User, { id: userId }, { passwordHash });
  }

  /** Notes a successful login, in the caller's transaction. */
  async recordLogin(em: SqlEntityManager, user: User): Promise<void> {
    const now = new Date();
    await em.nativeUpdate(User, { id: user.id }, { lastLoginAt: now });
    user.lastLoginAt = now;
  }

  /** ADMIN only (guarded in the resolver). The last active ADMIN cannot be demoted. Call in a transaction. */
  async changeRole(tx: SqlEntityManager, userId: string, role: Role): Promise<{ user: User; before: Role }> {
    let before = role;
    const user = await this.administer(tx, userId, 'role', (account) => {
      before = account.role;
      account.role = role;
    });
    return { user, before };
  }

  /** ADMIN only. The last active ADMIN cannot be deactivated. Call in a transaction. */
  changeActive(tx: SqlEntityManager, userId: string, active: boolean): Promise<User> {
    return this.administer(tx, userId, 'userId', (account) => {
      account.isActive = active;
    });
  }

  /**
   * Applies an administrative change under a lock on every active ADMIN row, so that two
   * admins demoting each other at once cannot leave the service without one.
   */
  private async administer(tx: SqlEntityManager, userId: string, field: string, change: (user: User) => void): Promise<User> {
    if (!tx.isInTransaction()) throw new Error('administrative changes run inside a transaction');
    if (!isUuid(userId)) throw new InvalidInput({ userId: 'no such user' });
    const admins = await tx.find(
      User,
      { role: Role.ADMIN, isActive: true },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
    );
    // Locked: a login of this account waits for the change, then sees it (lockCredentials).
    const user = await tx.findOne(User, { id: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!user) throw new InvalidInput({ userId: 'no such user' });
    const wasActiveAdmin = user.role === Role.ADMIN && user.isActive;
    change(user);
    const isActiveAdmin = user.role === Role.ADMIN && user.isActive;
    if (wasActiveAdmin && !isActiveAdmin && admins.length <= 1) {
      throw new InvalidInput({ [field]: 'the last active ADMIN must stay an active ADMIN' });
    }
    return user;
  }

  /**
   * `totalCount` of `users`: exact while fewer than EXACT_COUNT_BELOW accounts match; above
   * that a full count scans every matching row, so one count per filter is reused by this
   * instance for up to COUNT_TTL_MS (it may lag recent signups by that much).
   */
  private async countMatching(em: SqlEntityManager, filter: FilterQuery<User>, key: string): Promise<number> {
    const cached = this.counts.get(key);
    if (cached && cached.count >= EXACT_COUNT_BELOW && Date.now() - cached.at < COUNT_TTL_MS) return cached.count;
    const count = await em.count(User, filter);
    if (this.counts.size >= COUNT_CACHE_MAX) this.counts.clear();
    this.counts.set(key, { count, at: Date.now() });
    return count;
  }

  /** Keyset pagination on the time-ordered primary key: every page costs one index range scan. */
  async list(em: SqlEntityManager, args: UsersArgs): Promise<ConnectionShape<User>> {
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
      this.countMatching(em, filter, JSON.stringify([args.role ?? null, search ?? null])),
    ]);
    return connectionFrom(rows, first, totalCount);
  }
}
