import type { SqlEntityManager } from '@mikro-orm/sql';
import { AuditEventType, AuditService, originOf } from '../audit/audit.service';
import type { Context } from '../context';
import { AuthReason, AuthenticationFailure, InvalidInput } from '../errors';
import type { ClientInfo, IssuedSession, SessionService } from '../sessions/session.service';
import { Role } from '../users/role';
import { User } from '../users/user.entity';
import type { UserService } from '../users/user.service';
import { normalizeEmail } from '../users/user.validation';
import { TokenTransport, type AuthPayload, type ChangePasswordInput, type LoginInput, type SignupInput } from './auth.types';
import { passwordProblem } from './password.policy';
import type { PasswordService } from './password.service';
import type { TokenService } from './token.service';

/** Signup, login and refresh: each ends in a fresh token pair for one session. */
export class AuthService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly passwords: PasswordService,
    private readonly tokens: TokenService,
    private readonly audit: AuditService = new AuditService(),
  ) {}

  /** Always creates a USER; roles are raised only by an ADMIN. */
  async signup(ctx: Context, input: SignupInput): Promise<AuthPayload> {
    const user = await this.users.create(ctx.em, { ...input, role: Role.USER });
    const issued = await this.sessions.start(ctx.em, user, client(ctx));
    await this.audit.record(ctx.em, originOf(ctx, user.id), {
      type: AuditEventType.SIGNUP,
      subjectId: user.id,
      sessionId: issued.session.id,
    });
    return this.payload(ctx, issued, input.tokenTransport);
  }

  /**
   * Unknown email and wrong password fail alike, after the same amount of hashing work.
   * A disabled account is reported only to someone who knows its password.
   */
  async login(ctx: Context, input: LoginInput): Promise<AuthPayload> {
    const em: SqlEntityManager = ctx.em;
    const user = await em.findOne(User, { email: normalizeEmail(input.email) }, { populate: ['passwordHash'] });
    const valid = user
      ? await this.passwords.verify(input.password, user.passwordHash)
      : await this.passwords.verifyAgainstNothing(input.password);
    if (!user || !valid || !user.isActive) {
      const reason = !user || !valid ? AuthReason.INVALID_CREDENTIALS : AuthReason.ACCOUNT_DISABLED;
      // Written at once, so it stays although login throws; no email is stored for an unknown account.
      await this.audit.record(em, originOf(ctx, null), { type: AuditEventType.LOGIN_FAILED, subjectId: user?.id ?? null, detail: reason });
      throw new AuthenticationFailure(reason);
    }
    user.lastLoginAt = new Date();
    const issued = await this.sessions.start(em, user, client(ctx));
    await this.audit.record(em, originOf(ctx, user.id), {
      type: AuditEventType.LOGIN_SUCCEEDED,
      subjectId: user.id,
      sessionId: issued.session.id,
    });
    return this.payload(ctx, issued, input.tokenTransport);
  }

  /** Without a token argument, the token comes from the refresh cookie and the answer goes back in it. */
  async refresh(ctx: Context, token: string | null | undefined): Promise<AuthPayload> {
    const transport = token ? TokenTransport.BODY : TokenTransport.COOKIE;
    const presented = token || ctx.refreshCookie.read();
    if (!presented) throw new AuthenticationFailure(AuthReason.TOKEN_MISSING, 'No refresh token was given and no refresh cookie was sent');
    const claims = this.tokens.verifyRefresh(presented);
    const issued = await this.sessions.rotate(ctx.em, claims, presented, client(ctx));
    await this.audit.record(ctx.em, originOf(ctx, issued.user.id), {
      type: AuditEventType.TOKEN_REFRESHED,
      subjectId: issued.user.id,
      sessionId: issued.session.id,
    });
    return this.payload(ctx, issued, transport);
  }

  /**
   * Ends every other session of the viewer and returns a fresh pair for the current one.
   * A wrong current password is a field error on `currentPassword`.
   */
  async changePassword(ctx: Context, input: ChangePasswordInput): Promise<AuthPayload> {
    const viewer = await ctx.auth.viewer();
    // The input validator checked the policy without the account; now the email is known.
    const problem = passwordProblem(input.newPassword, { email: viewer.user.email });
    if (problem) throw new InvalidInput({ newPassword: problem });
    const em = ctx.em;
    const { passwordHash } = await em.findOneOrFail(User, { id: viewer.user.id }, { populate: ['passwordHash'] });
    if (!(await this.passwords.verify(input.currentPassword, passwordHash))) {
      throw new InvalidInput({ currentPassword: 'is not your current password' });
    }
    const newHash = await this.passwords.hash(input.newPassword);
    const issued = await em.transactional(async (tx) => {
      await tx.nativeUpdate(User, { id: viewer.user.id }, { passwordHash: newHash });
      await this.sessions.revokeAllOf(tx, viewer.user.id, viewer.session.id);
      await this.audit.record(tx, originOf(ctx, viewer.user.id), {
        type: AuditEventType.PASSWORD_CHANGED,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
      });
      return this.sessions.reissue(tx, viewer);
    });
    return this.payload(ctx, issued, ctx.refreshCookie.read() ? TokenTransport.COOKIE : TokenTransport.BODY);
  }

  private payload(ctx: Context, { user, session, refresh }: IssuedSession, transport: TokenTransport | null | undefined): AuthPayload {
    ctx.auth.signedInAs({ user, session });
    const access = this.tokens.signAccess({ userId: user.id, sessionId: session.id, role: user.role });
    if (transport === TokenTransport.COOKIE) {
      ctx.refreshCookie.set(refresh.token, refresh.expiresAt);
      return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: null, user };
    }
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: refresh.token, user };
  }
}

function client(ctx: Context): ClientInfo {
  return { ip: ctx.ip, userAgent: ctx.userAgent };
}
