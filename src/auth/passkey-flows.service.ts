import type { SqlEntityManager } from '@mikro-orm/sql';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AuditEventType } from '../audit/audit-event.entity';
import { originOf, type AuditService } from '../audit/audit.service';
import { AuthReason, AuthenticationFailure, FeatureDisabled, InvalidInput } from '../errors';
import type { Passkey } from '../passkeys/passkey.entities';
import type { PasskeyRefusal, PasskeyService } from '../passkeys/passkey.service';
import type { IssuedSession, SessionService } from '../sessions/session.service';
import type { TokenTransport } from '../sessions/token-transport';
import type { Viewer } from '../sessions/viewer';
import type { UserService } from '../users/user.service';
import type { ClientInfo } from '../validation/client-info';

const REGISTRATION_REFUSALS: Record<PasskeyRefusal, string> = {
  'unknown-challenge': 'answers no live registration challenge of yours (startPasskeyRegistration, then finish within 5 minutes)',
  'unknown-credential': 'is not a passkey registration',
  'not-verified': 'could not be verified (origin, relying party or attestation)',
  'already-registered': 'is a passkey registered already',
  'too-many': 'would exceed 20 passkeys; delete one first',
};

/**
 * Passkeys: registration and deletion for the signed-in user, and passwordless login, which
 * satisfies MFA (a passkey is possession plus the authenticator's own user verification). Each
 * flow writes its rows and audit event in one transaction; a refused login commits its
 * PASSKEY_LOGIN_FAILED event, then answers INVALID_CREDENTIALS.
 */
export class PasskeyFlows {
  constructor(
    private readonly passkeys: PasskeyService | undefined,
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
  ) {}

  private enabled(): PasskeyService {
    if (!this.passkeys) throw new FeatureDisabled('Passkeys are not configured on this server (WEBAUTHN_RP_ID)');
    return this.passkeys;
  }

  list(em: SqlEntityManager, viewer: Viewer): Promise<Passkey[]> {
    return this.enabled().list(em, viewer.user.id);
  }

  startRegistration(em: SqlEntityManager, viewer: Viewer): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const passkeys = this.enabled();
    return em.transactional((tx) => passkeys.registrationOptions(tx, viewer.user));
  }

  async finishRegistration(
    em: SqlEntityManager,
    viewer: Viewer,
    response: RegistrationResponseJSON,
    name: string | null,
    client: ClientInfo,
  ): Promise<Passkey> {
    const passkeys = this.enabled();
    const outcome = await em.transactional(async (tx) => {
      const registered = await passkeys.register(tx, viewer.user, response, name);
      if (typeof registered === 'string') return registered;
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.PASSKEY_REGISTERED,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
        detail: registered.id,
      });
      return registered;
    });
    if (typeof outcome === 'string') throw new InvalidInput({ response: REGISTRATION_REFUSALS[outcome] });
    return outcome;
  }

  async delete(em: SqlEntityManager, viewer: Viewer, id: string, client: ClientInfo): Promise<boolean> {
    const passkeys = this.enabled();
    return em.transactional(async (tx) => {
      if (!(await passkeys.delete(tx, viewer.user.id, id))) return false;
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.PASSKEY_DELETED,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
        detail: id,
      });
      return true;
    });
  }

  startLogin(em: SqlEntityManager): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const passkeys = this.enabled();
    return em.transactional((tx) => passkeys.loginOptions(tx));
  }

  /** A verified assertion of a registered passkey starts a session: amr `hwk` (device-bound) or `swk` (synced), and `mfa`. */
  async finishLogin(
    em: SqlEntityManager,
    response: AuthenticationResponseJSON,
    transport: TokenTransport,
    client: ClientInfo,
  ): Promise<IssuedSession> {
    const passkeys = this.enabled();
    const outcome = await em.transactional(async (tx): Promise<IssuedSession | AuthReason> => {
      const passkey = await passkeys.authenticate(tx, response);
      if (typeof passkey === 'string') {
        await this.audit.record(tx, originOf(client, null), {
          type: AuditEventType.PASSKEY_LOGIN_FAILED,
          subjectId: null,
          detail: passkey,
        });
        return AuthReason.INVALID_CREDENTIALS;
      }
      const { user } = passkey;
      const current = await this.users.lockCredentials(tx, user.id);
      if (!current?.isActive) {
        await this.audit.record(tx, originOf(client, null), {
          type: AuditEventType.PASSKEY_LOGIN_FAILED,
          subjectId: user.id,
          detail: AuthReason.ACCOUNT_DISABLED,
        });
        return AuthReason.ACCOUNT_DISABLED;
      }
      await this.users.recordLogin(tx, user);
      const amr = [passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk', 'mfa'];
      const issued = await this.sessions.start(tx, user, client, transport, amr);
      await this.audit.record(tx, originOf(client, user.id), {
        type: AuditEventType.PASSKEY_LOGIN_SUCCEEDED,
        subjectId: user.id,
        sessionId: issued.session.id,
        detail: passkey.id,
      });
      return issued;
    });
    if (typeof outcome === 'string') {
      throw new AuthenticationFailure(
        outcome,
        outcome === AuthReason.INVALID_CREDENTIALS ? 'The passkey could not be verified; start again with startPasskeyLogin' : undefined,
      );
    }
    return outcome;
  }
}
