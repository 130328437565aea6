import { LockMode } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Config } from '../config/config';
import type { User } from '../users/user.entity';
import { Passkey, WebauthnChallenge, WebauthnPurpose } from './passkey.entities';

/** How long a browser has to answer a challenge. */
export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60_000;
/** Challenges this long past their expiry are deleted when new ones are made. */
const CHALLENGE_RETENTION_MS = 60 * 60_000;
export const PASSKEY_NAME_MAX_LENGTH = 64;
const MAX_PASSKEYS_PER_USER = 20;

/** Why a passkey operation was refused; the flows turn these into errors and audit events. */
export type PasskeyRefusal = 'unknown-challenge' | 'unknown-credential' | 'not-verified' | 'already-registered' | 'too-many';

export type RelyingParty = NonNullable<Config['webauthn']>;

/** The challenge a browser signed, read from its clientDataJSON; undefined when unreadable. */
function challengeOf(clientDataJSON: unknown): string | undefined {
  if (typeof clientDataJSON !== 'string' || clientDataJSON.length > 4096) return undefined;
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && data.challenge.length <= 128 ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}

function transportsOf(row: Passkey): AuthenticatorTransport[] | undefined {
  return row.transports ? (row.transports.split(',') as AuthenticatorTransport[]) : undefined;
}

/**
 * The `passkeys` and `webauthn_challenges` tables: WebAuthn registration and login with
 * @simplewebauthn/server. Challenges live in the database, so any instance can finish what another
 * started; each is used once (row lock) and expires within minutes. Origin, RP id, the signature
 * and the signature counter are checked by the library against the stored credential.
 */
export class PasskeyService {
  constructor(private readonly rp: RelyingParty) {}

  list(em: SqlEntityManager, userId: string): Promise<Passkey[]> {
    return em.find(Passkey, { user: userId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  private async newChallenge(tx: SqlEntityManager, challenge: string, purpose: WebauthnPurpose, userId: string | null): Promise<void> {
    const now = new Date();
    await tx.nativeDelete(WebauthnChallenge, { expiresAt: { $lt: new Date(now.getTime() - CHALLENGE_RETENTION_MS) } });
    tx.create(WebauthnChallenge, {
      challenge,
      purpose,
      user: userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + WEBAUTHN_CHALLENGE_TTL_MS),
    });
    await tx.flush();
  }

  /** Takes the live challenge a response signed (single use); undefined when there is none of this purpose (and user). */
  private async takeChallenge(
    tx: SqlEntityManager,
    clientDataJSON: unknown,
    purpose: WebauthnPurpose,
    userId: string | null,
  ): Promise<string | undefined> {
    const challenge = challengeOf(clientDataJSON);
    if (challenge === undefined) return undefined;
    const row = await tx.findOne(WebauthnChallenge, { challenge }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (row?.purpose !== purpose || row.usedAt || row.expiresAt.getTime() <= Date.now()) return undefined;
    if ((row.user?.id ?? null) !== userId) return undefined;
    row.usedAt = new Date();
    await tx.flush();
    return challenge;
  }

  async registrationOptions(
    tx: SqlEntityManager,
    user: Pick<User, 'id' | 'email' | 'name'>,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.list(tx, user.id);
    const options = await generateRegistrationOptions({
      rpName: this.rp.rpName,
      rpID: this.rp.rpId,
      userName: user.email,
      userDisplayName: user.name,
      userID: Buffer.from(user.id, 'utf8'),
      attestationType: 'none',
      timeout: WEBAUTHN_CHALLENGE_TTL_MS,
      excludeCredentials: existing.map((row) => ({ id: row.credentialId, transports: transportsOf(row) })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    await this.newChallenge(tx, options.challenge, WebauthnPurpose.REGISTRATION, user.id);
    return options;
  }

  async register(
    tx: SqlEntityManager,
    user: Pick<User, 'id'>,
    response: RegistrationResponseJSON,
    name: string | null,
  ): Promise<Passkey | PasskeyRefusal> {
    const challenge = await this.takeChallenge(tx, response.response.clientDataJSON, WebauthnPurpose.REGISTRATION, user.id);
    if (challenge === undefined) return 'unknown-challenge';
    let verification;
    try {
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.rp.origins],
        expectedRPID: this.rp.rpId,
        requireUserVerification: false,
      });
    } catch {
      return 'not-verified';
    }
    if (!verification.verified) return 'not-verified';
    const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;
    if (await tx.count(Passkey, { credentialId: credential.id })) return 'already-registered';
    if ((await tx.count(Passkey, { user: user.id })) >= MAX_PASSKEYS_PER_USER) return 'too-many';
    const row = tx.create(Passkey, {
      user: user.id,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports?.join(',') ?? null,
      deviceType: credentialDeviceType,
      backedUp: credentialBackedUp,
      name,
    });
    await tx.flush();
    return row;
  }

  /** Options for a login with a discoverable credential: no user named, the authenticator offers its passkeys. */
  async loginOptions(tx: SqlEntityManager): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.rp.rpId,
      userVerification: 'preferred',
      timeout: WEBAUTHN_CHALLENGE_TTL_MS,
    });
    await this.newChallenge(tx, options.challenge, WebauthnPurpose.LOGIN, null);
    return options;
  }

  /**
   * Verifies a login assertion against the stored credential (row-locked, so two uses of one
   * signature counter value cannot both pass) and records its new counter and last use.
   */
  async authenticate(tx: SqlEntityManager, response: AuthenticationResponseJSON): Promise<Passkey | PasskeyRefusal> {
    const challenge = await this.takeChallenge(tx, response.response.clientDataJSON, WebauthnPurpose.LOGIN, null);
    if (challenge === undefined) return 'unknown-challenge';
    const row = await tx.findOne(
      Passkey,
      { credentialId: response.id },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true, populate: ['user'] },
    );
    if (!row) return 'unknown-credential';
    // A discoverable credential names its user; it must be the passkey's owner.
    const userHandle = response.response.userHandle;
    if (userHandle !== undefined && Buffer.from(userHandle, 'base64url').toString('utf8') !== row.user.id) return 'unknown-credential';
    let verification;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: [...this.rp.origins],
        expectedRPID: this.rp.rpId,
        credential: {
          id: row.credentialId,
          publicKey: Buffer.from(row.publicKey, 'base64url'),
          counter: row.counter,
          transports: transportsOf(row),
        },
        requireUserVerification: false,
      });
    } catch {
      return 'not-verified';
    }
    if (!verification.verified) return 'not-verified';
    row.counter = verification.authenticationInfo.newCounter;
    row.lastUsedAt = new Date();
    row.backedUp = verification.authenticationInfo.credentialBackedUp;
    await tx.flush();
    return row;
  }

  /** Deletes one of the user's passkeys; false when they have none with that id. */
  async delete(tx: SqlEntityManager, userId: string, id: string): Promise<boolean> {
    return (await tx.nativeDelete(Passkey, { id, user: userId })) === 1;
  }

  async deleteAll(tx: SqlEntityManager, userId: string): Promise<void> {
    await tx.nativeDelete(Passkey, { user: userId });
    await tx.nativeDelete(WebauthnChallenge, { user: userId });
  }
}
