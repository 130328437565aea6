import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { newId } from '../db/uuid';
import { IP_MAX_LENGTH } from '../validation/client-info';

export enum AuditEventType {
  SIGNUP = 'SIGNUP',
  LOGIN_SUCCEEDED = 'LOGIN_SUCCEEDED',
  LOGIN_FAILED = 'LOGIN_FAILED',
  TOKEN_REFRESHED = 'TOKEN_REFRESHED',
  REFRESH_TOKEN_REUSED = 'REFRESH_TOKEN_REUSED',
  LOGOUT = 'LOGOUT',
  SESSION_REVOKED = 'SESSION_REVOKED',
  PASSWORD_CHANGED = 'PASSWORD_CHANGED',
  ROLE_CHANGED = 'ROLE_CHANGED',
  USER_DEACTIVATED = 'USER_DEACTIVATED',
  USER_REACTIVATED = 'USER_REACTIVATED',
  PASSWORD_RESET_REQUESTED = 'PASSWORD_RESET_REQUESTED',
  PASSWORD_RESET = 'PASSWORD_RESET',
  VERIFICATION_EMAIL_SENT = 'VERIFICATION_EMAIL_SENT',
  EMAIL_VERIFIED = 'EMAIL_VERIFIED',
  EMAIL_CHANGE_REQUESTED = 'EMAIL_CHANGE_REQUESTED',
  EMAIL_CHANGED = 'EMAIL_CHANGED',
  MFA_ENABLED = 'MFA_ENABLED',
  MFA_DISABLED = 'MFA_DISABLED',
  RECOVERY_CODES_REGENERATED = 'RECOVERY_CODES_REGENERATED',
  MFA_SUCCEEDED = 'MFA_SUCCEEDED',
  MFA_FAILED = 'MFA_FAILED',
  MFA_RESET = 'MFA_RESET',
  PASSKEY_REGISTERED = 'PASSKEY_REGISTERED',
  PASSKEY_DELETED = 'PASSKEY_DELETED',
  PASSKEY_LOGIN_SUCCEEDED = 'PASSKEY_LOGIN_SUCCEEDED',
  PASSKEY_LOGIN_FAILED = 'PASSKEY_LOGIN_FAILED',
}

registerEnumType(AuditEventType, { name: 'AuditEventType', description: 'What happened to an account or a session.' });

/**
 * One security-relevant event, written in the transaction of the mutation it describes, so the
 * two commit together or not at all (a failed login's event is that request's only write).
 * No foreign keys: events outlive the users and sessions they name. Never holds a password,
 * a token or a hash; a failed login stores no email.
 */
@ObjectType({ description: 'A security-relevant event (ADMIN only).' })
@Entity({ tableName: 'audit_events' })
@Index({ name: 'audit_events_subject_id_id_index', properties: ['subjectId', 'id'] })
export class AuditEvent {
  /** Time-ordered (UUIDv7): the audit log pages on it. */
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Field(() => AuditEventType)
  @Enum({ items: () => AuditEventType, nativeEnumName: undefined })
  type!: AuditEventType;

  @Field(() => ID, { nullable: true, description: 'Who did it; null when nobody was signed in (e.g. a failed login).' })
  @Property({ type: 'uuid', nullable: true })
  actorId: string | null = null;

  @Field(() => ID, { nullable: true, description: 'Whose account it concerns; null for a failed login with an unknown email.' })
  @Property({ type: 'uuid', nullable: true })
  subjectId: string | null = null;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  sessionId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: IP_MAX_LENGTH, nullable: true })
  ip: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  userAgent: string | null = null;

  @Field(() => String, { nullable: true, description: 'Details, e.g. "USER -> MODERATOR" or the reason a login failed.' })
  @Property({ type: 'text', nullable: true })
  detail: string | null = null;

  @Field(() => Date)
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
