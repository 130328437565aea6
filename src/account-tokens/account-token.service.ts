import { LockMode } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { randomBytes } from 'node:crypto';
import { hashToken } from '../credentials/token-hash';
import { AuthReason, AuthenticationFailure } from '../errors';
import type { User } from '../users/user.entity';
import { AccountToken, AccountTokenPurpose } from './account-token.entity';

export { AccountTokenPurpose };

/** 32 random bytes: 256 bits, twice what the contract asks for. */
const TOKEN_BYTES = 32;
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** The `account_tokens` table: tokens mailed for a password reset, an email verification or an email change. */
export class AccountTokenService {
  /** Issues a token (the plaintext goes into the mail, only its hash is stored), in the caller's transaction. */
  async issue(tx: SqlEntityManager, user: Pick<User, 'id'>, purpose: AccountTokenPurpose, email: string, ttlMs: number): Promise<string> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const now = new Date();
    tx.create(AccountToken, {
      user: user.id,
      purpose,
      email,
      tokenHash: hashToken(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
    });
    await tx.flush();
    return token;
  }

  /**
   * The live token of one of `purposes`, row-locked until the caller's transaction ends (so it is
   * used at most once), with its user. A bad, used or voided token, or one of another purpose, is
   * TOKEN_INVALID; an expired one TOKEN_EXPIRED. Marks nothing: call `use` once the operation holds.
   */
  async redeemable(tx: SqlEntityManager, token: string, purposes: readonly AccountTokenPurpose[]): Promise<AccountToken> {
    const invalid = new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The link is invalid or was already used');
    if (!TOKEN_FORMAT.test(token)) throw invalid;
    const row = await tx.findOne(AccountToken, { tokenHash: hashToken(token) }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!row || !purposes.includes(row.purpose) || row.usedAt || row.voidedAt) throw invalid;
    if (row.expiresAt.getTime() <= Date.now()) throw new AuthenticationFailure(AuthReason.TOKEN_EXPIRED, 'The link has expired');
    await tx.populate(row, ['user'], { refresh: true });
    return row;
  }

  async use(tx: SqlEntityManager, row: AccountToken): Promise<void> {
    await tx.nativeUpdate(AccountToken, { id: row.id }, { usedAt: new Date() });
  }

  /** Voids every live token of a user of the given purposes (a newer request, a reset, a password or email change). */
  async voidAll(tx: SqlEntityManager, userId: string, purposes: readonly AccountTokenPurpose[]): Promise<void> {
    await tx.nativeUpdate(
      AccountToken,
      { user: userId, purpose: { $in: [...purposes] }, usedAt: null, voidedAt: null },
      { voidedAt: new Date() },
    );
  }
}
