import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { newId } from '../db/uuid';
import { EMAIL_MAX_LENGTH } from '../validation/email';

/**
 * MAIL: a message to send. PASSWORD_RESET_REQUEST: a reset asked for an address, resolved by the
 * delivery loop (the request itself does the same work whether or not the address has an account).
 */
export enum OutboxKind {
  MAIL = 'MAIL',
  PASSWORD_RESET_REQUEST = 'PASSWORD_RESET_REQUEST',
}

/**
 * The mail outbox: a row is written in the transaction of the change it announces (and of the
 * token it carries), then delivered by a loop in every instance; a claim (`claimedBy` until
 * `claimedUntil`) keeps two instances from sending one message. Bodies are cleared once sent.
 */
@Entity({ tableName: 'outbox_messages' })
export class OutboxMessage {
  [OptionalProps]?:
    'createdAt' | 'attempts' | 'claimedBy' | 'claimedUntil' | 'sentAt' | 'failedAt' | 'lastError' | 'subject' | 'textBody' | 'htmlBody';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Enum({ items: () => OutboxKind, nativeEnumName: undefined })
  kind!: OutboxKind;

  @Property({ type: 'string', length: EMAIL_MAX_LENGTH })
  recipient!: string;

  @Property({ type: 'text', nullable: true })
  subject: string | null = null;

  @Property({ type: 'text', nullable: true })
  textBody: string | null = null;

  @Property({ type: 'text', nullable: true })
  htmlBody: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  /** Not before: the next attempt's time. */
  @Property({ type: 'datetime' })
  dueAt!: Date;

  @Property({ type: 'integer' })
  attempts = 0;

  @Property({ type: 'string', length: 64, nullable: true })
  claimedBy: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  claimedUntil: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  sentAt: Date | null = null;

  /** Set when the message was given up after the last attempt. */
  @Property({ type: 'datetime', nullable: true })
  failedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;
}
