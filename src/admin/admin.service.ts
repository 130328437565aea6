import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Role } from '../access/role';
import { AuditEventType } from '../audit/audit-event.entity';
import type { AuditOrigin, AuditService } from '../audit/audit.service';
import type { MfaService } from '../mfa/mfa.service';
import type { PasskeyService } from '../passkeys/passkey.service';
import type { SessionService } from '../sessions/session.service';
import type { User } from '../users/user.entity';
import type { UserService } from '../users/user.service';
import { InvalidInput } from '../errors';

/**
 * Administration of other accounts (ADMIN only, guarded in the resolver). Each change, the
 * sessions it ends and its audit event commit in one transaction.
 */
export class AdminService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly mfa: MfaService,
    private readonly passkeys: PasskeyService | undefined,
  ) {}

  /**
   * For a user who lost their authenticator and their recovery codes (after the operator has
   * checked who they are): removes every second factor; the next login asks for the password only.
   */
  resetMfa(em: SqlEntityManager, origin: AuditOrigin, userId: string): Promise<User> {
    return em.transactional(async (tx) => {
      const user = await this.users.findById(tx, userId);
      if (!user) throw new InvalidInput({ userId: 'no such user' });
      await this.users.lockCredentials(tx, user.id);
      await this.mfa.removeAll(tx, user.id);
      await this.passkeys?.deleteAll(tx, user.id);
      await this.users.setMfaEnabled(tx, user.id, false);
      user.mfaEnabled = false;
      await this.audit.record(tx, origin, { type: AuditEventType.MFA_RESET, subjectId: user.id });
      return user;
    });
  }

  /** Takes effect on the next request of every token of that user. */
  setRole(em: SqlEntityManager, origin: AuditOrigin, userId: string, role: Role): Promise<User> {
    return em.transactional(async (tx) => {
      const { user, before } = await this.users.changeRole(tx, userId, role);
      await this.audit.record(tx, origin, { type: AuditEventType.ROLE_CHANGED, subjectId: user.id, detail: `${before} -> ${role}` });
      return user;
    });
  }

  /** Deactivation ends every session of the user; their access tokens stop working on the next request. */
  setActive(em: SqlEntityManager, origin: AuditOrigin, userId: string, active: boolean): Promise<User> {
    return em.transactional(async (tx) => {
      const user = await this.users.changeActive(tx, userId, active);
      if (!active) await this.sessions.revokeAllOf(tx, user.id);
      await this.audit.record(tx, origin, {
        type: active ? AuditEventType.USER_REACTIVATED : AuditEventType.USER_DEACTIVATED,
        subjectId: user.id,
      });
      return user;
    });
  }
}
