import { BigIntType, OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';
import { newId } from '../db/uuid';
import { User } from '../users/user.entity';

/**
 * A WebAuthn credential (passkey) of a user: its public key (COSE, base64url) and the signature
 * counter last seen. Only `id`, `name`, `createdAt` and `lastUsedAt` reach GraphQL.
 */
@ObjectType({ description: 'A passkey of the signed-in user.' })
@Entity({ tableName: 'passkeys' })
export class Passkey {
  [OptionalProps]?: 'counter' | 'transports' | 'name' | 'createdAt' | 'lastUsedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  /** The credential id the authenticator reports, base64url. */
  @Property({ type: 'text', unique: 'passkeys_credential_id_unique' })
  credentialId!: string;

  @Property({ type: 'text' })
  publicKey!: string;

  @Property({ type: new BigIntType('number') })
  counter = 0;

  /** How the browser may reach the authenticator (`internal`, `hybrid`, `usb`...), comma-separated. */
  @Property({ type: 'text', nullable: true })
  transports: string | null = null;

  /** `singleDevice` or `multiDevice` (synced): the `amr` of its logins says `hwk` or `swk`. */
  @Property({ type: 'text' })
  deviceType!: string;

  @Property({ type: 'boolean' })
  backedUp!: boolean;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  name: string | null = null;

  @Field(() => Date)
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;
}

export enum WebauthnPurpose {
  REGISTRATION = 'REGISTRATION',
  LOGIN = 'LOGIN',
}

/** A challenge handed to a browser, kept server-side (shared by every instance), single use and short-lived. */
@Entity({ tableName: 'webauthn_challenges' })
export class WebauthnChallenge {
  [OptionalProps]?: 'createdAt' | 'usedAt' | 'user';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'string', length: 128, unique: 'webauthn_challenges_challenge_unique' })
  challenge!: string;

  @Enum({ items: () => WebauthnPurpose, nativeEnumName: undefined })
  purpose!: WebauthnPurpose;

  /** The user registering; null for a login (discoverable credentials name their user). */
  @ManyToOne(() => User, { deleteRule: 'cascade', nullable: true })
  user: User | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;
}
