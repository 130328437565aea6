import type { SqlEntityManager } from '@mikro-orm/sql';
import { AuditEventType } from '../audit/audit-event.entity';
import { originOf, type AuditService } from '../audit/audit.service';
import { InvalidInput } from '../errors';
import type { MfaService, TotpEnrollmentData } from '../mfa/mfa.service';
import type { Viewer } from '../sessions/viewer';
import type { UserService } from '../users/user.service';
import type { ClientInfo } from '../validation/client-info';

const WRONG_CODE = 'is wrong or was already used';

/**
 * The signed-in user's own second factors: enrol TOTP, confirm it (which turns MFA on and hands
 * out recovery codes), turn it off, new recovery codes. Each change and its audit event commit
 * together; a wrong code is recorded (MFA_FAILED) and changes nothing.
 */
export class SecondFactorService {
  constructor(
    private readonly users: UserService,
    private readonly mfa: MfaService,
    private readonly audit: AuditService,
  ) {}

  enrollTotp(em: SqlEntityManager, viewer: Viewer): Promise<TotpEnrollmentData> {
    return em.transactional(async (tx) => {
      const enrollment = await this.mfa.enroll(tx, viewer.user);
      if (!enrollment) throw new InvalidInput({ totp: 'is active already; disable it first' });
      return enrollment;
    });
  }

  /** The first code of the new authenticator turns MFA on; returns ten recovery codes, shown once. */
  async confirmTotp(em: SqlEntityManager, viewer: Viewer, code: string, client: ClientInfo): Promise<string[]> {
    const codes = await em.transactional(async (tx) => {
      await this.users.lockCredentials(tx, viewer.user.id);
      if (!(await this.mfa.confirm(tx, viewer.user, code))) return undefined;
      await this.users.setMfaEnabled(tx, viewer.user.id, true);
      const recoveryCodes = await this.mfa.replaceRecoveryCodes(tx, viewer.user);
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.MFA_ENABLED,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
      });
      return recoveryCodes;
    });
    if (!codes) throw new InvalidInput({ code: `${WRONG_CODE}, or no authenticator is being enrolled (enrollTotp)` });
    return codes;
  }

  /** Turns MFA off: removes the authenticator and the recovery codes, with a current code or a recovery code. */
  async disableTotp(em: SqlEntityManager, viewer: Viewer, code: string, client: ClientInfo): Promise<boolean> {
    await this.withSecondFactor(em, viewer, code, client, async (tx) => {
      await this.mfa.removeAll(tx, viewer.user.id);
      await this.users.setMfaEnabled(tx, viewer.user.id, false);
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.MFA_DISABLED,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
      });
    });
    return true;
  }

  /** Ten new recovery codes; every earlier one stops working. */
  async regenerateRecoveryCodes(em: SqlEntityManager, viewer: Viewer, code: string, client: ClientInfo): Promise<string[]> {
    return this.withSecondFactor(em, viewer, code, client, async (tx) => {
      const codes = await this.mfa.replaceRecoveryCodes(tx, viewer.user);
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.RECOVERY_CODES_REGENERATED,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
      });
      return codes;
    });
  }

  /**
   * Runs `change` if `code` is a current TOTP code or an unused recovery code of the viewer. A wrong
   * code commits only its MFA_FAILED event, then is a field error on `code`.
   */
  private async withSecondFactor<T>(
    em: SqlEntityManager,
    viewer: Viewer,
    code: string,
    client: ClientInfo,
    change: (tx: SqlEntityManager) => Promise<T>,
  ): Promise<T> {
    const outcome = await em.transactional(async (tx): Promise<{ value: T } | 'inactive' | 'wrong'> => {
      const current = await this.users.lockCredentials(tx, viewer.user.id);
      if (!current?.mfaEnabled) return 'inactive';
      const factor = await this.mfa.verifySecondFactor(tx, viewer.user, code);
      if (!factor) {
        await this.audit.record(tx, originOf(client, viewer.user.id), {
          type: AuditEventType.MFA_FAILED,
          subjectId: viewer.user.id,
          sessionId: viewer.session.id,
        });
        return 'wrong';
      }
      return { value: await change(tx) };
    });
    if (outcome === 'inactive') throw new InvalidInput({ code: 'no second factor is active on this account' });
    if (outcome === 'wrong') throw new InvalidInput({ code: WRONG_CODE });
    return outcome.value;
  }
}
