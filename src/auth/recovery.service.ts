import type { SqlEntityManager } from '@mikro-orm/sql';
import { AccountTokenPurpose, type AccountTokenService } from '../account-tokens/account-token.service';
import { AuditEventType } from '../audit/audit-event.entity';
import { originOf, type AuditService } from '../audit/audit.service';
import type { PasswordHasher } from '../credentials/password.hasher';
import { passwordProblem } from '../credentials/password.policy';
import { AuthReason, AuthenticationFailure, InvalidInput, MfaRequired } from '../errors';
import { durationText, emailChangeMail, emailChangeNotice, passwordResetMail, verificationMail } from '../mail/mail.templates';
import type { OutboxService } from '../mail/outbox.service';
import type { MfaService } from '../mfa/mfa.service';
import type { IssuedSession, SessionService } from '../sessions/session.service';
import { TokenTransport } from '../sessions/token-transport';
import type { Viewer } from '../sessions/viewer';
import type { User } from '../users/user.entity';
import type { UserService } from '../users/user.service';
import type { ClientInfo } from '../validation/client-info';
import { normalizeEmail } from '../validation/email';

export interface RecoverySettings {
  readonly appUrl: string;
  readonly passwordResetTtlMs: number;
  readonly emailVerificationTtlMs: number;
}

const NO_CLIENT: ClientInfo = { ip: null, userAgent: null };

/**
 * Account recovery and proof of address: password reset, email verification, email change. Every
 * token is written in the same transaction as the outbox message that carries it.
 */
export class RecoveryService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly tokens: AccountTokenService,
    private readonly outbox: OutboxService,
    private readonly passwords: PasswordHasher,
    private readonly audit: AuditService,
    private readonly mfa: MfaService,
    private readonly settings: RecoverySettings,
  ) {}

  /**
   * Queues the request and answers at once. Whether the address has an account is decided later,
   * by the delivery loop (`handleResetRequest`): the request does the same work, in the same time,
   * either way.
   */
  async requestPasswordReset(em: SqlEntityManager, email: string): Promise<true> {
    await this.outbox.enqueueResetRequest(em, normalizeEmail(email));
    return true;
  }

  /** In the delivery loop's transaction: a reset link for an active account of that address; nothing otherwise. */
  async handleResetRequest(tx: SqlEntityManager, email: string): Promise<void> {
    const user = await this.users.findByEmail(tx, email);
    if (!user?.isActive) return;
    // A newer request voids the older links.
    await this.tokens.voidAll(tx, user.id, [AccountTokenPurpose.PASSWORD_RESET]);
    const token = await this.tokens.issue(tx, user, AccountTokenPurpose.PASSWORD_RESET, user.email, this.settings.passwordResetTtlMs);
    await this.outbox.enqueueMail(
      tx,
      passwordResetMail(user.email, this.settings.appUrl, token, durationText(this.settings.passwordResetTtlMs)),
    );
    await this.audit.record(tx, originOf(NO_CLIENT, null), { type: AuditEventType.PASSWORD_RESET_REQUESTED, subjectId: user.id });
  }

  /**
   * Sets a new password with a reset link: policy-checked first (a refused password leaves the link
   * usable), then, in one transaction, the link is used, every other reset link voided, every
   * session ended, the address marked verified, and a new session started.
   */
  async resetPassword(
    em: SqlEntityManager,
    input: { readonly token: string; readonly newPassword: string; readonly tokenTransport?: TokenTransport | null },
    client: ClientInfo,
    signal?: AbortSignal,
  ): Promise<IssuedSession> {
    // A look without a lock, so the policy is checked (and the hash made) before any transaction.
    const preview = await em.transactional((tx) => this.tokens.redeemable(tx, input.token, [AccountTokenPurpose.PASSWORD_RESET]));
    const problem = passwordProblem(input.newPassword, { email: preview.email });
    if (problem) throw new InvalidInput({ newPassword: problem });
    const passwordHash = await this.passwords.hash(input.newPassword, signal);
    const outcome = await em.transactional(async (tx): Promise<IssuedSession | MfaRequired> => {
      const row = await this.tokens.redeemable(tx, input.token, [AccountTokenPurpose.PASSWORD_RESET]);
      const user = this.currentAccount(row.user, row.email);
      const current = await this.users.lockCredentials(tx, user.id);
      await this.users.setPasswordHash(tx, user.id, passwordHash);
      await this.tokens.use(tx, row);
      await this.tokens.voidAll(tx, user.id, [AccountTokenPurpose.PASSWORD_RESET]);
      await this.sessions.revokeAllOf(tx, user.id);
      await this.users.markEmailVerified(tx, user);
      await this.mfa.voidChallenges(tx, user.id);
      await this.audit.record(tx, originOf(client, user.id), { type: AuditEventType.PASSWORD_RESET, subjectId: user.id });
      // The mailbox proves the email, not the second factor: the password is reset, the session waits for verifyMfa.
      if (current?.mfaEnabled) return new MfaRequired(await this.mfa.issueChallenge(tx, user, input.tokenTransport ?? TokenTransport.BODY));
      return this.sessions.start(tx, user, client, input.tokenTransport ?? TokenTransport.BODY);
    });
    if (outcome instanceof MfaRequired) throw outcome;
    return outcome;
  }

  /** Mails a verification link for the account's current address, in the caller's transaction. */
  async sendVerification(tx: SqlEntityManager, user: User, client: ClientInfo): Promise<void> {
    await this.tokens.voidAll(tx, user.id, [AccountTokenPurpose.EMAIL_VERIFICATION]);
    const token = await this.tokens.issue(
      tx,
      user,
      AccountTokenPurpose.EMAIL_VERIFICATION,
      user.email,
      this.settings.emailVerificationTtlMs,
    );
    await this.outbox.enqueueMail(
      tx,
      verificationMail(user.email, this.settings.appUrl, token, durationText(this.settings.emailVerificationTtlMs)),
    );
    await this.audit.record(tx, originOf(client, user.id), { type: AuditEventType.VERIFICATION_EMAIL_SENT, subjectId: user.id });
  }

  /** The viewer's own unverified address gets a new link; false when it is verified already. */
  async resendVerification(em: SqlEntityManager, viewer: Viewer, client: ClientInfo): Promise<boolean> {
    return em.transactional(async (tx) => {
      const user = await this.users.findById(tx, viewer.user.id);
      if (!user || user.emailVerified) return false;
      await this.sendVerification(tx, user, client);
      return true;
    });
  }

  /**
   * A verification link: signup's address (or a resend's), or the new address of an email change,
   * which takes effect now. The database decides who gets an address two accounts race for.
   */
  async verifyEmail(em: SqlEntityManager, token: string, client: ClientInfo): Promise<boolean> {
    return em.transactional(async (tx) => {
      const row = await this.tokens.redeemable(tx, token, [AccountTokenPurpose.EMAIL_VERIFICATION, AccountTokenPurpose.EMAIL_CHANGE]);
      const user = row.user;
      await this.users.lockCredentials(tx, user.id);
      if (row.purpose === AccountTokenPurpose.EMAIL_VERIFICATION) {
        this.currentAccount(user, row.email);
        await this.users.markEmailVerified(tx, user);
        await this.audit.record(tx, originOf(client, user.id), { type: AuditEventType.EMAIL_VERIFIED, subjectId: user.id });
      } else {
        if (!user.isActive) throw new AuthenticationFailure(AuthReason.ACCOUNT_DISABLED);
        const before = user.email;
        await this.users.changeEmail(tx, user, row.email);
        // Links mailed to the old address (a reset, a verification) must not work any more.
        await this.tokens.voidAll(tx, user.id, [
          AccountTokenPurpose.PASSWORD_RESET,
          AccountTokenPurpose.EMAIL_VERIFICATION,
          AccountTokenPurpose.EMAIL_CHANGE,
        ]);
        await this.audit.record(tx, originOf(client, user.id), {
          type: AuditEventType.EMAIL_CHANGED,
          subjectId: user.id,
          detail: before === row.email ? null : 'address changed',
        });
      }
      await this.tokens.use(tx, row);
      return true;
    });
  }

  /**
   * Asks to change the viewer's address: the current password first, then a link to the new
   * address and a notice to the old one. The address changes once the link is used.
   */
  async changeEmail(
    em: SqlEntityManager,
    viewer: Viewer,
    input: { readonly newEmail: string; readonly currentPassword: string },
    client: ClientInfo,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const newEmail = normalizeEmail(input.newEmail);
    const currentHash = await this.users.passwordHashOf(em, viewer.user.id);
    if (!(await this.passwords.verify(input.currentPassword, currentHash, signal))) {
      throw new InvalidInput({ currentPassword: 'is not your current password' });
    }
    if (newEmail === viewer.user.email) throw new InvalidInput({ newEmail: 'is already your address' });
    if (await this.users.isEmailTaken(em, newEmail)) throw new InvalidInput({ newEmail: 'is already registered' });
    return em.transactional(async (tx) => {
      const current = await this.users.lockCredentials(tx, viewer.user.id);
      if (current?.passwordHash !== currentHash) throw new InvalidInput({ currentPassword: 'is not your current password' });
      await this.tokens.voidAll(tx, viewer.user.id, [AccountTokenPurpose.EMAIL_CHANGE]);
      const ttl = this.settings.emailVerificationTtlMs;
      const token = await this.tokens.issue(tx, viewer.user, AccountTokenPurpose.EMAIL_CHANGE, newEmail, ttl);
      await this.outbox.enqueueMail(tx, emailChangeMail(newEmail, this.settings.appUrl, token, durationText(ttl)));
      await this.outbox.enqueueMail(tx, emailChangeNotice(viewer.user.email));
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.EMAIL_CHANGE_REQUESTED,
        subjectId: viewer.user.id,
      });
      return true;
    });
  }

  /** The token's account, if it still has the address the token was mailed to and may sign in. */
  private currentAccount(user: User, mailedTo: string): User {
    if (user.email !== mailedTo) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The link is invalid or was already used');
    if (!user.isActive) throw new AuthenticationFailure(AuthReason.ACCOUNT_DISABLED);
    return user;
  }
}
