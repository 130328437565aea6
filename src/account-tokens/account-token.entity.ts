import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { newId } from '../db/uuid';
import { User } from '../users/user.entity';
import { EMAIL_MAX_LENGTH } from '../validation/email';

/** What a mailed token may be used for; a token of one purpose is never accepted for another. */
export enum AccountTokenPurpose {
  PASSWORD_RESET = 'PASSWORD_RESET',
  EMAIL_VERIFICATION = 'EMAIL_VERIFICATION',
  EMAIL_CHANGE = 'EMAIL_CHANGE',
}

/**
 * A single-use token mailed to an account: stored only as a SHA-256 hash, bound to its purpose and
 * to the address it was sent to (a token for an address the account no longer has is void).
 */
@Entity({ tableName: 'account_tokens' })
export class AccountToken {
  [OptionalProps]?: 'createdAt' | 'usedAt' | 'voidedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => User, { deleteRule: 'cascade', index: false })
  user!: User;

  @Enum({ items: () => AccountTokenPurpose, nativeEnumName: undefined })
  purpose!: AccountTokenPurpose;

  @Property({ type: 'string', length: 64, unique: 'account_tokens_token_hash_unique' })
  tokenHash!: string;

  /** The address the token was mailed to: for EMAIL_CHANGE, the new address. */
  @Property({ type: 'string', length: EMAIL_MAX_LENGTH })
  email!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;

  /** Set when a newer token of the same purpose, a reset or a password change made this one void. */
  @Property({ type: 'datetime', nullable: true })
  voidedAt: Date | null = null;
}
