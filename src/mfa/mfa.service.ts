import { LockMode } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { SecretBox } from '../credentials/secret-box';
import { hashToken } from '../credentials/token-hash';
import { isUuid } from '../db/uuid';
import { AuthReason, AuthenticationFailure } from '../errors';
import type { TokenTransport } from '../sessions/token-transport';
import type { User } from '../users/user.entity';
import { MfaChallenge, RecoveryCode, TotpCredential } from './mfa.entities';

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30 s steps. */
const PERIOD_S = 30;
const DIGITS = 6;
/** One step of drift either way: a phone clock a little off, a code typed as it changed. */
const DRIFT_STEPS = 1;
const RECOVERY_CODE_COUNT = 10;
/** How long the second step of a login may take, and how many wrong codes it survives. */
export const MFA_CHALLENGE_TTL_MS = 5 * 60_000;
export const MFA_CHALLENGE_MAX_FAILURES = 5;
/** `<user id>.<43 random characters>`: the user id lets the per-account limit apply before any lookup. */
const MFA_TOKEN = /^([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export interface TotpEnrollmentData {
  readonly secret: string;
  readonly otpauthUri: string;
}

/** Which second factor a code turned out to be. */
export type SecondFactor = 'totp' | 'recovery-code';

/** The user an `mfaToken` names, for the rate limiter; undefined when it is not shaped like one. */
export function userOfMfaToken(token: string): string | undefined {
  const userId = MFA_TOKEN.exec(token)?.[1];
  return userId !== undefined && isUuid(userId) ? userId : undefined;
}

/** Ten characters in two groups, from an alphabet without look-alikes: about 49 bits each. */
function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((byte) => RECOVERY_ALPHABET[byte % RECOVERY_ALPHABET.length] ?? 'a');
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

/** Spaces and dashes are typing aids, case does not matter. */
function normalizedRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * The tables of second factors: `totp_credentials`, `recovery_codes` and `mfa_challenges`. TOTP
 * seeds are sealed at rest; recovery codes and challenges are kept as keyed or plain hashes.
 */
export class MfaService {
  constructor(
    private readonly box: SecretBox,
    private readonly issuer: string,
  ) {}

  private totpOf(user: Pick<User, 'id' | 'email'>, base32: string): TOTP {
    return new TOTP({
      issuer: this.issuer,
      label: user.email,
      algorithm: 'SHA1',
      digits: DIGITS,
      period: PERIOD_S,
      secret: Secret.fromBase32(base32),
    });
  }

  /** The active TOTP credential of a user, row-locked for the caller's transaction; undefined when none is confirmed. */
  async activeCredential(tx: SqlEntityManager, userId: string): Promise<TotpCredential | undefined> {
    const row = await tx.findOne(TotpCredential, { user: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    return row?.confirmedAt ? row : undefined;
  }

  /**
   * A new, unconfirmed seed for the user (replacing an unconfirmed one); undefined when TOTP is
   * active already.
   */
  async enroll(tx: SqlEntityManager, user: Pick<User, 'id' | 'email'>): Promise<TotpEnrollmentData | undefined> {
    const existing = await tx.findOne(TotpCredential, { user: user.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (existing?.confirmedAt) return undefined;
    const secret = new Secret({ size: 20 }).base32;
    const sealed = this.box.seal(secret, user.id);
    if (existing) {
      existing.secret = sealed;
      existing.createdAt = new Date();
      existing.lastUsedStep = null;
    } else tx.create(TotpCredential, { user: user.id, secret: sealed });
    await tx.flush();
    return { secret, otpauthUri: this.totpOf(user, secret).toString() };
  }

  /**
   * Checks a TOTP code against the user's seed (confirmed or, with `pending`, the one being
   * confirmed). A code is accepted once: its time step must be later than the last accepted one.
   */
  private async acceptTotp(tx: SqlEntityManager, user: Pick<User, 'id' | 'email'>, code: string, pending: boolean): Promise<boolean> {
    if (!new RegExp(`^\\d{${String(DIGITS)}}$`).test(code)) return false;
    const row = await tx.findOne(TotpCredential, { user: user.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!row || (row.confirmedAt === null) !== pending) return false;
    const totp = this.totpOf(user, this.box.open(row.secret, user.id));
    const now = Date.now();
    const delta = totp.validate({ token: code, timestamp: now, window: DRIFT_STEPS });
    if (delta === null) return false;
    const step = totp.counter({ timestamp: now }) + delta;
    if (row.lastUsedStep !== null && step <= row.lastUsedStep) return false;
    row.lastUsedStep = step;
    if (pending) row.confirmedAt = new Date();
    await tx.flush();
    return true;
  }

  /** Activates the pending seed with a first code; the recovery codes come from `replaceRecoveryCodes`. */
  confirm(tx: SqlEntityManager, user: Pick<User, 'id' | 'email'>, code: string): Promise<boolean> {
    return this.acceptTotp(tx, user, code.replace(/\s/g, ''), true);
  }

  /** A current TOTP code or an unused recovery code of the user (used up by this call); undefined when neither. */
  async verifySecondFactor(tx: SqlEntityManager, user: Pick<User, 'id' | 'email'>, code: string): Promise<SecondFactor | undefined> {
    const compact = code.replace(/\s/g, '');
    if (await this.acceptTotp(tx, user, compact, false)) return 'totp';
    const normalized = normalizedRecoveryCode(compact);
    if (normalized.length !== 10) return undefined;
    const used = await tx.nativeUpdate(
      RecoveryCode,
      { user: user.id, codeHash: this.box.hash(normalized), usedAt: null },
      { usedAt: new Date() },
    );
    return used === 1 ? 'recovery-code' : undefined;
  }

  /** Ten new recovery codes, replacing every earlier one; the plaintext is returned once and never stored. */
  async replaceRecoveryCodes(tx: SqlEntityManager, user: Pick<User, 'id'>): Promise<string[]> {
    await tx.nativeDelete(RecoveryCode, { user: user.id });
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    for (const code of codes) tx.create(RecoveryCode, { user: user.id, codeHash: this.box.hash(normalizedRecoveryCode(code)) });
    await tx.flush();
    return codes;
  }

  /** Removes every second factor of a user and ends their pending logins. */
  async removeAll(tx: SqlEntityManager, userId: string): Promise<void> {
    await tx.nativeDelete(TotpCredential, { user: userId });
    await tx.nativeDelete(RecoveryCode, { user: userId });
    await this.voidChallenges(tx, userId);
  }

  /** Starts the second step of a login: the plaintext `mfaToken` for the client, only its hash kept. */
  async issueChallenge(tx: SqlEntityManager, user: User, transport: TokenTransport): Promise<string> {
    const token = `${user.id}.${randomBytes(32).toString('base64url')}`;
    const now = new Date();
    // The user's ended challenges go now, so the table holds at most a few rows per account.
    await tx.nativeDelete(MfaChallenge, { user: user.id, $or: [{ usedAt: { $ne: null } }, { expiresAt: { $lt: now } }] });
    tx.create(MfaChallenge, {
      user,
      tokenHash: hashToken(token),
      refreshTransport: transport,
      createdAt: now,
      expiresAt: new Date(now.getTime() + MFA_CHALLENGE_TTL_MS),
    });
    await tx.flush();
    return token;
  }

  /**
   * The live challenge of an `mfaToken`, row-locked until the caller's transaction ends, with its
   * user. Anything else (an access or refresh token, a used or dead challenge) is TOKEN_INVALID; an
   * expired one TOKEN_EXPIRED.
   */
  async redeemable(tx: SqlEntityManager, token: string): Promise<MfaChallenge> {
    const invalid = new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The mfaToken is invalid or was already used; sign in again');
    if (!MFA_TOKEN.test(token)) throw invalid;
    const row = await tx.findOne(MfaChallenge, { tokenHash: hashToken(token) }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!row || row.usedAt) throw invalid;
    if (row.expiresAt.getTime() <= Date.now())
      throw new AuthenticationFailure(AuthReason.TOKEN_EXPIRED, 'The mfaToken has expired; sign in again');
    await tx.populate(row, ['user'], { refresh: true });
    return row;
  }

  /** A wrong code: the challenge dies after MFA_CHALLENGE_MAX_FAILURES of them. */
  async recordFailure(tx: SqlEntityManager, row: MfaChallenge): Promise<void> {
    row.failures += 1;
    if (row.failures >= MFA_CHALLENGE_MAX_FAILURES) row.usedAt = new Date();
    await tx.flush();
  }

  async use(tx: SqlEntityManager, row: MfaChallenge): Promise<void> {
    row.usedAt = new Date();
    await tx.flush();
  }

  /** Ends every pending second step of a user (a password change or reset, a deactivation, MFA removed). */
  async voidChallenges(tx: SqlEntityManager, userId: string): Promise<void> {
    await tx.nativeUpdate(MfaChallenge, { user: userId, usedAt: null }, { usedAt: new Date() });
  }
}
