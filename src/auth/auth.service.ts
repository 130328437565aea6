import type { SqlEntityManager } from '@mikro-orm/sql';
import { Role } from '../access/role';
import { AuditEventType } from '../audit/audit-event.entity';
import { originOf, type AuditService } from '../audit/audit.service';
import type { PasswordHasher } from '../credentials/password.hasher';
import { passwordProblem } from '../credentials/password.policy';
import type { TokenCodec } from '../credentials/token.codec';
import { AuthReason, AuthenticationFailure, InvalidInput, MfaRequired } from '../errors';
import { userOfMfaToken, type MfaService } from '../mfa/mfa.service';
import type { IssuedSession, SessionService } from '../sessions/session.service';
import { TokenTransport } from '../sessions/token-transport';
import type { Viewer } from '../sessions/viewer';
import type { UserService } from '../users/user.service';
import type { RecoveryService } from './recovery.service';
import type { ClientInfo } from '../validation/client-info';

export interface Credentials {
  readonly email: string;
  readonly password: string;
  /** How the new session's refresh token travels; BODY when absent. */
  readonly tokenTransport?: TokenTransport | null;
}

/**
 * The sign-in flows: signup, login, refresh and password change, each ending in a token pair for
 * one session. Each writes everything it writes (account, session, tokens, audit event) in one
 * transaction; password hashing runs before it, never while it holds a connection.
 */
export class AuthService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly passwords: PasswordHasher,
    private readonly tokens: TokenCodec,
    private readonly audit: AuditService,
    private readonly recovery: RecoveryService,
    private readonly mfa: MfaService,
    private readonly settings: { readonly requireEmailVerification: boolean },
  ) {}

  /** Always creates a USER; roles are raised only by an ADMIN. */
  async signup(
    em: SqlEntityManager,
    input: Credentials & { readonly name: string },
    client: ClientInfo,
    signal?: AbortSignal,
  ): Promise<IssuedSession> {
    const passwordHash = await this.users.hashPassword(input.password, signal);
    const issued = await em.transactional(async (tx) => {
      const user = await this.users.insert(tx, { email: input.email, name: input.name, passwordHash, role: Role.USER });
      // With REQUIRE_EMAIL_VERIFICATION no session starts before the address is confirmed.
      const session = this.settings.requireEmailVerification
        ? undefined
        : await this.sessions.start(tx, user, client, input.tokenTransport ?? TokenTransport.BODY);
      await this.audit.record(tx, originOf(client, user.id), {
        type: AuditEventType.SIGNUP,
        subjectId: user.id,
        sessionId: session?.session.id ?? null,
      });
      await this.recovery.sendVerification(tx, user, client);
      return session;
    });
    // The account and its verification mail are committed; the answer says what comes next.
    if (!issued) throw new AuthenticationFailure(AuthReason.EMAIL_NOT_VERIFIED);
    return issued;
  }

  /**
   * Unknown email and wrong password fail alike, after the same amount of hashing work.
   * A disabled account is reported only to someone who knows its password. `signal`: the
   * request's; a comparison still queued when the client leaves never runs.
   */
  async login(em: SqlEntityManager, input: Credentials, client: ClientInfo, signal?: AbortSignal): Promise<IssuedSession> {
    const found = await this.users.findForLogin(em, input.email);
    const valid = found
      ? await this.passwords.verify(input.password, found.passwordHash, signal)
      : await this.passwords.verifyAgainstNothing(input.password, signal);
    if (!found || !valid || !found.user.isActive) {
      const reason = !found || !valid ? AuthReason.INVALID_CREDENTIALS : AuthReason.ACCOUNT_DISABLED;
      await this.recordFailedLogin(em, found?.user.id ?? null, reason, client);
      throw new AuthenticationFailure(reason);
    }
    const { user, passwordHash } = found;
    const outcome = await em.transactional(async (tx): Promise<IssuedSession | AuthReason | MfaRequired> => {
      // The password was checked outside the transaction; the session is created only if it and
      // the account state still hold now (a password change or a deactivation may have committed meanwhile).
      const current = await this.users.lockCredentials(tx, user.id);
      const reason =
        current?.passwordHash !== passwordHash
          ? AuthReason.INVALID_CREDENTIALS
          : !current.isActive
            ? AuthReason.ACCOUNT_DISABLED
            : this.settings.requireEmailVerification && !current.emailVerified
              ? AuthReason.EMAIL_NOT_VERIFIED
              : undefined;
      if (reason) {
        await this.recordFailedLogin(tx, user.id, reason, client);
        return reason;
      }
      // With a second factor the password earns only a short-lived challenge for verifyMfa.
      if (current?.mfaEnabled) return new MfaRequired(await this.mfa.issueChallenge(tx, user, input.tokenTransport ?? TokenTransport.BODY));
      await this.users.recordLogin(tx, user);
      const issued = await this.sessions.start(tx, user, client, input.tokenTransport ?? TokenTransport.BODY);
      await this.audit.record(tx, originOf(client, user.id), {
        type: AuditEventType.LOGIN_SUCCEEDED,
        subjectId: user.id,
        sessionId: issued.session.id,
      });
      return issued;
    });
    if (typeof outcome === 'string') throw new AuthenticationFailure(outcome);
    if (outcome instanceof MfaRequired) throw outcome;
    return outcome;
  }

  /**
   * The second step of a login: the challenge of `mfaToken` and a current TOTP code or an unused
   * recovery code give the session. A wrong code is recorded and counts towards the challenge's
   * end; the session's `amr` says a second factor was used.
   */
  async verifyMfa(
    em: SqlEntityManager,
    input: { readonly mfaToken: string; readonly code: string; readonly tokenTransport?: TokenTransport | null },
    client: ClientInfo,
  ): Promise<IssuedSession> {
    const userId = userOfMfaToken(input.mfaToken);
    if (userId === undefined)
      throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The mfaToken is invalid or was already used; sign in again');
    const outcome = await em.transactional(async (tx): Promise<IssuedSession | AuthReason> => {
      // The account first, as every credential change locks it: a change waits for this step, or ends its challenge.
      const current = await this.users.lockCredentials(tx, userId);
      const challenge = await this.mfa.redeemable(tx, input.mfaToken);
      const { user } = challenge;
      if (!current?.isActive) {
        await this.mfa.use(tx, challenge);
        return AuthReason.ACCOUNT_DISABLED;
      }
      const factor = await this.mfa.verifySecondFactor(tx, user, input.code);
      if (!factor) {
        await this.mfa.recordFailure(tx, challenge);
        await this.audit.record(tx, originOf(client, null), { type: AuditEventType.MFA_FAILED, subjectId: user.id });
        return AuthReason.INVALID_MFA_CODE;
      }
      await this.mfa.use(tx, challenge);
      await this.users.recordLogin(tx, user);
      const cookie = input.tokenTransport === TokenTransport.COOKIE || challenge.refreshTransport === TokenTransport.COOKIE;
      const issued = await this.sessions.start(tx, user, client, cookie ? TokenTransport.COOKIE : TokenTransport.BODY, [
        'pwd',
        'otp',
        'mfa',
      ]);
      const origin = originOf(client, user.id);
      const sessionId = issued.session.id;
      await this.audit.record(tx, origin, { type: AuditEventType.MFA_SUCCEEDED, subjectId: user.id, sessionId, detail: factor });
      await this.audit.record(tx, origin, { type: AuditEventType.LOGIN_SUCCEEDED, subjectId: user.id, sessionId });
      return issued;
    });
    if (typeof outcome === 'string') throw new AuthenticationFailure(outcome);
    return outcome;
  }

  /** A failed login's only write, committed before the error goes out; no email is stored for an unknown account. */
  private recordFailedLogin(em: SqlEntityManager, userId: string | null, reason: AuthReason, client: ClientInfo): Promise<void> {
    return this.audit.record(em, originOf(client, null), { type: AuditEventType.LOGIN_FAILED, subjectId: userId, detail: reason });
  }

  /**
   * Exchanges a refresh token (single use) for a new pair of the same session. A reuse ends the
   * session; the revocation and its audit event commit before REFRESH_TOKEN_REUSED goes out.
   */
  async refresh(em: SqlEntityManager, token: string, client: ClientInfo): Promise<IssuedSession> {
    const claims = this.tokens.verifyRefresh(token);
    const issued = await em.transactional(async (tx) => {
      const rotated = await this.sessions.rotate(tx, claims, token, client);
      if (rotated === 'reused') {
        await this.sessions.revoke(tx, claims.sid);
        // The presenter may be a thief: no actor, the account and session it targeted as subject.
        await this.audit.record(tx, originOf(client, null), {
          type: AuditEventType.REFRESH_TOKEN_REUSED,
          subjectId: claims.sub,
          sessionId: claims.sid,
        });
        return undefined;
      }
      await this.audit.record(tx, originOf(client, rotated.user.id), {
        type: AuditEventType.TOKEN_REFRESHED,
        subjectId: rotated.user.id,
        sessionId: rotated.session.id,
      });
      return rotated;
    });
    if (!issued) throw new AuthenticationFailure(AuthReason.REFRESH_TOKEN_REUSED);
    return issued;
  }

  /** Logout: ends the session of the access token used. */
  logout(em: SqlEntityManager, viewer: Viewer, client: ClientInfo): Promise<boolean> {
    return this.sessions.logout(em, viewer, client);
  }

  /**
   * Logout with a refresh token alone (cookie mode, the access token expired). An expired refresh
   * token belongs to a session that has ended anyway: nothing to do.
   */
  async logoutWithRefreshToken(em: SqlEntityManager, token: string, client: ClientInfo): Promise<boolean> {
    let claims;
    try {
      claims = this.tokens.verifyRefresh(token);
    } catch (error) {
      if (error instanceof AuthenticationFailure && error.reason === AuthReason.TOKEN_EXPIRED) return false;
      throw error;
    }
    return this.sessions.logoutByRefreshToken(em, claims, token, client);
  }

  /**
   * Ends every other session of the viewer and issues a fresh pair for the current one.
   * A wrong current password is a field error on `currentPassword`.
   */
  async changePassword(
    em: SqlEntityManager,
    viewer: Viewer,
    input: { readonly currentPassword: string; readonly newPassword: string },
    client: ClientInfo,
    signal?: AbortSignal,
  ): Promise<IssuedSession> {
    // The input validator checked the policy without the account; now the email is known.
    const problem = passwordProblem(input.newPassword, { email: viewer.user.email });
    if (problem) throw new InvalidInput({ newPassword: problem });
    const currentHash = await this.users.passwordHashOf(em, viewer.user.id);
    if (!(await this.passwords.verify(input.currentPassword, currentHash, signal))) {
      throw new InvalidInput({ currentPassword: 'is not your current password' });
    }
    const newHash = await this.passwords.hash(input.newPassword, signal);
    return em.transactional(async (tx) => {
      // Checked against the password that still holds: of two concurrent changes, the second finds
      // the first one's password and fails like a wrong current password.
      const current = await this.users.lockCredentials(tx, viewer.user.id);
      if (current?.passwordHash !== currentHash) throw new InvalidInput({ currentPassword: 'is not your current password' });
      await this.users.setPasswordHash(tx, viewer.user.id, newHash);
      await this.sessions.revokeAllOf(tx, viewer.user.id, viewer.session.id);
      await this.mfa.voidChallenges(tx, viewer.user.id);
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.PASSWORD_CHANGED,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
      });
      return this.sessions.reissue(tx, viewer);
    });
  }
}
