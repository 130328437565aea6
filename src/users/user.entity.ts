import { OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import { Role } from '../access/role';
import { newId } from '../db/uuid';
import { EMAIL_MAX_LENGTH } from '../validation/email';
import { NAME_MAX_LENGTH } from '../validation/display-name';

@ObjectType({ description: 'An account. Some fields are visible only to certain viewers (see @authorized).' })
@Entity({ tableName: 'users' })
@Index({ name: 'users_role_id_index', properties: ['role', 'id'] })
export class User {
  [OptionalProps]?: 'role' | 'isActive' | 'createdAt' | 'updatedAt' | 'lastLoginAt' | 'emailSkeleton' | 'emailVerified' | 'mfaEnabled';

  @Field(() => ID, { simple: true })
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Stored trimmed and lower-cased, so the unique constraint is case-insensitive. */
  @Field(() => String, { nullable: true, description: 'Visible to the user themself, MODERATOR and ADMIN.' })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN], self: true })
  @Property({ type: 'string', length: EMAIL_MAX_LENGTH, unique: 'users_email_unique' })
  email!: string;

  @Field(() => String, { simple: true })
  @Property({ type: 'string', length: NAME_MAX_LENGTH })
  name!: string;

  /**
   * UTS #39 skeleton of the email, unique: an address that only looks like a registered one is
   * taken. Written with the email, never read back (lazy), never in the schema.
   */
  @Property({ type: 'text', nullable: true, hidden: true, lazy: true, unique: 'users_email_skeleton_unique' })
  emailSkeleton: string | null = null;

  /** bcrypt hash; never selected unless asked for, never serialised, never in the schema. */
  @Property({ type: 'text', hidden: true, lazy: true })
  passwordHash!: string;

  @Field(() => Role, { simple: true })
  @Enum({ items: () => Role, nativeEnumName: undefined })
  role: Role = Role.USER;

  @Field(() => Boolean, { nullable: true })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN] })
  @Property({ type: 'boolean' })
  isActive = true;

  @Field(() => Date, { simple: true })
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN] })
  @Property({ type: 'datetime', nullable: true })
  lastLoginAt: Date | null = null;

  /** True once the account proved it receives mail at `email` (a verification link, or a password reset). */
  @Field(() => Boolean, { nullable: true, description: 'Visible to the user themself, MODERATOR and ADMIN.' })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN], self: true })
  @Property({ type: 'boolean' })
  emailVerified = false;

  /** True while a second factor (TOTP) is active: login then asks for it. */
  @Field(() => Boolean, { nullable: true, description: 'Visible to the user themself, MODERATOR and ADMIN.' })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN], self: true })
  @Property({ type: 'boolean' })
  mfaEnabled = false;
}
