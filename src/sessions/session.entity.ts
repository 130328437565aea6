import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { newId } from '../db/uuid';
import { User } from '../users/user.entity';
import { IP_MAX_LENGTH } from '../validation/client-info';
import { TokenTransport } from './token-transport';

/**
 * One login: the family of refresh tokens descended from it. Access tokens carry its id
 * (`sid`), so ending a session ends its access tokens on their next request.
 */
@Entity({ tableName: 'sessions' })
export class Session {
  [OptionalProps]?: 'createdAt' | 'lastUsedAt' | 'revokedAt' | 'userAgent' | 'ip' | 'lastRotatedHash' | 'refreshTransport' | 'amr';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => User, { deleteRule: 'cascade', index: 'sessions_user_id_index' })
  user!: User;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  lastUsedAt: Date = new Date();

  /** Absolute end of the session (REFRESH_TOKEN_TTL after login); refreshing does not extend it. */
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  userAgent: string | null = null;

  @Property({ type: 'string', length: IP_MAX_LENGTH, nullable: true })
  ip: string | null = null;

  /**
   * SHA-256 of the refresh token rotated last: within REFRESH_REUSE_GRACE only that token may be
   * presented again (two tabs racing). Null once a password change ended the grace.
   */
  @Property({ type: 'string', length: 64, nullable: true })
  lastRotatedHash: string | null = null;

  /** Chosen at login: every answer for this session carries its refresh token this way. */
  @Enum({ items: () => TokenTransport, nativeEnumName: undefined })
  refreshTransport: TokenTransport = TokenTransport.BODY;

  /**
   * How the session was authenticated, as RFC 8176 `amr` values separated by commas: `pwd`,
   * `pwd,otp,mfa`, `hwk,mfa`... Access tokens carry them, so other services can demand a second factor.
   */
  @Property({ type: 'text' })
  amr = 'pwd';
}

/** A refresh token, by hash only. `usedAt` is set once, atomically, when it is rotated. */
@Entity({ tableName: 'refresh_tokens' })
@Index({ name: 'refresh_tokens_session_id_index', properties: ['session'] })
export class RefreshToken {
  [OptionalProps]?: 'createdAt' | 'usedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Session, { deleteRule: 'cascade', index: false })
  session!: Session;

  /** SHA-256 of the token, hex. */
  @Property({ type: 'string', length: 64, unique: 'refresh_tokens_token_hash_unique' })
  tokenHash!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;
}
