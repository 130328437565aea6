import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, OneToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { newId } from '../db/uuid';
import { TokenTransport } from '../sessions/token-transport';
import { User } from '../users/user.entity';

/**
 * A user's TOTP authenticator (RFC 6238): the seed sealed with MFA_ENCRYPTION_KEY, inactive until a
 * first code confirms it. `lastUsedStep` is the time step of the last code accepted: a code of that
 * step or an earlier one is refused, so each code works once.
 */
@Entity({ tableName: 'totp_credentials' })
export class TotpCredential {
  [OptionalProps]?: 'createdAt' | 'confirmedAt' | 'lastUsedStep';

  @OneToOne(() => User, { primary: true, deleteRule: 'cascade', owner: true, fieldName: 'user_id' })
  user!: User;

  @Property({ type: 'text' })
  secret!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  confirmedAt: Date | null = null;

  @Property({ type: 'integer', nullable: true })
  lastUsedStep: number | null = null;
}

/** A recovery code, by keyed hash only; each works once. */
@Entity({ tableName: 'recovery_codes' })
export class RecoveryCode {
  [OptionalProps]?: 'createdAt' | 'usedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'string', length: 64 })
  codeHash!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;
}

/**
 * The second step of a login: the `mfaToken` a correct password earned, by hash only. Short-lived,
 * single use, bound to its user, dead after a few wrong codes. The transport is the login's.
 */
@Entity({ tableName: 'mfa_challenges' })
export class MfaChallenge {
  [OptionalProps]?: 'createdAt' | 'usedAt' | 'failures';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Property({ type: 'string', length: 64, unique: 'mfa_challenges_token_hash_unique' })
  tokenHash!: string;

  @Enum({ items: () => TokenTransport, nativeEnumName: undefined })
  refreshTransport!: TokenTransport;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'integer' })
  failures = 0;
}
