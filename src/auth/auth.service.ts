import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Context } from '../context';
import { AuthReason, AuthenticationFailure, InvalidInput } from '../errors';
import type { ClientInfo, IssuedSession, SessionService } from '../sessions/session.service';
import { Role } from '../users/role';
import { User } from '../users/user.entity';
import type { UserService } from '../users/user.service';
import { normalizeEmail } from '../users/user.validation';
import type { AuthPayload, ChangePasswordInput, LoginInput, SignupInput } from './auth.types';
import type { PasswordService } from './password.service';
import type { TokenService } from './token.service';

/** Signup, login and refresh: each ends in a fresh token pair for one session. */
export class AuthService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly passwords: PasswordService,
    private readonly tokens: TokenService,
  ) {}

  /** Always creates a USER; roles are raised only by an ADMIN. */
  async signup(ctx: Context, input: SignupInput): Promise<AuthPayload> {
    const user = await this.users.create(ctx.em, { ...input, role: Role.USER });
    return this.payload(ctx, await this.sessions.start(ctx.em, user, client(ctx)));
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
    if (!user || !valid) throw new AuthenticationFailure(AuthReason.INVALID_CREDENTIALS);
    if (!user.isActive) throw new AuthenticationFailure(AuthReason.ACCOUNT_DISABLED);
    user.lastLoginAt = new Date();
    return this.payload(ctx, await this.sessions.start(em, user, client(ctx)));
  }

  async refresh(ctx: Context, token: string): Promise<AuthPayload> {
    const claims = this.tokens.verifyRefresh(token);
    return this.payload(ctx, await this.sessions.rotate(ctx.em, claims, token, client(ctx)));
  }

  /**
   * Ends every other session of the viewer and returns a fresh pair for the current one.
   * A wrong current password is a field error on `currentPassword`.
   */
  async changePassword(ctx: Context, input: ChangePasswordInput): Promise<AuthPayload> {
    const viewer = await ctx.auth.viewer();
    const em = ctx.em;
    const { passwordHash } = await em.findOneOrFail(User, { id: viewer.user.id }, { populate: ['passwordHash'] });
    if (!(await this.passwords.verify(input.currentPassword, passwordHash))) {
      throw new InvalidInput({ currentPassword: 'is not your current password' });
    }
    const newHash = await this.passwords.hash(input.newPassword);
    const issued = await em.transactional(async (tx) => {
      await tx.nativeUpdate(User, { id: viewer.user.id }, { passwordHash: newHash });
      await this.sessions.revokeAllOf(tx, viewer.user.id, viewer.session.id);
      return this.sessions.reissue(tx, viewer);
    });
    return this.payload(ctx, issued);
  }

  private payload(ctx: Context, { user, session, refresh }: IssuedSession): AuthPayload {
    ctx.auth.signedInAs({ user, session });
    const access = this.tokens.signAccess({ userId: user.id, sessionId: session.id, role: user.role });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: refresh.token, user };
  }
}

function client(ctx: Context): ClientInfo {
  return { ip: ctx.ip, userAgent: ctx.userAgent };
}
