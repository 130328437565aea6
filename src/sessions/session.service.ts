import type { SqlEntityManager } from '@mikro-orm/sql';
import { AuditEventType, AuditService, originOf, type AuditOrigin } from '../audit/audit.service';
import type { AccessClaims, RefreshClaims, SignedToken, TokenService } from '../auth/token.service';
import { TokenService as Tokens } from '../auth/token.service';
import { isUuid } from '../db/keys';
import { AuthReason, AuthenticationFailure } from '../errors';
import { User } from '../users/user.entity';
import { RefreshToken, Session } from './session.entity';
import type { SessionView } from './session.types';

export interface ClientInfo {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface Viewer {
  readonly user: User;
  readonly session: Session;
}

export interface IssuedSession {
  readonly user: User;
  readonly session: Session;
  readonly refresh: SignedToken;
}

const USER_AGENT_MAX = 512;

/** The viewer and its session in one primary-key lookup (columns as the entities map them). */
const VIEWER_SQL = `select u.id, u.email, u.name, u.role, u.is_active, u.created_at, u.updated_at, u.last_login_at,
  s.id as s_id, s.created_at as s_created_at, s.last_used_at as s_last_used_at, s.expires_at as s_expires_at,
  s.revoked_at as s_revoked_at, s.user_agent as s_user_agent, s.ip as s_ip
  from sessions s join users u on u.id = s.user_id where s.id = ?`;

interface ViewerRow {
  id: string;
  s_id: string;
  s_created_at: Date;
  s_last_used_at: Date;
  s_expires_at: Date;
  s_revoked_at: Date | null;
  s_user_agent: string | null;
  s_ip: string | null;
  [column: string]: unknown;
}

/** Sessions are refresh-token families; their state decides whether access tokens still work. */
export class SessionService {
  constructor(
    private readonly tokens: TokenService,
    private readonly config: { readonly refreshTokenTtlMs: number; readonly refreshReuseGraceMs: number },
    private readonly audit: AuditService = new AuditService(),
  ) {}

  /** Starts a session for a successful login or signup and returns its first refresh token. */
  async start(em: SqlEntityManager, user: User, client: ClientInfo): Promise<IssuedSession> {
    const now = new Date();
    const session = em.create(Session, {
      user,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + this.config.refreshTokenTtlMs),
      ip: client.ip,
      userAgent: client.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
    });
    const refresh = this.addRefreshToken(em, session);
    await em.flush();
    return { user, session, refresh };
  }

  /**
   * The viewer behind an access token, with the state of its session, in one indexed
   * lookup. A revoked or expired session, or a disabled account, ends the token at once.
   */
  async viewer(em: SqlEntityManager, claims: AccessClaims): Promise<Viewer> {
    // Fixed SQL text instead of a query built per request: this runs on every authenticated call.
    if (!isUuid(claims.sid)) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    const row = (await em.getConnection().execute<ViewerRow>(VIEWER_SQL, [claims.sid], 'get')) as ViewerRow | undefined;
    if (!row) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    const { s_id, s_created_at, s_last_used_at, s_expires_at, s_revoked_at, s_user_agent, s_ip, ...user } = row;
    const session = em.map(Session, {
      id: s_id,
      user: em.map(User, user),
      created_at: s_created_at,
      last_used_at: s_last_used_at,
      expires_at: s_expires_at,
      revoked_at: s_revoked_at,
      user_agent: s_user_agent,
      ip: s_ip,
    } as never);
    return { session: this.usable(session, claims), user: session.user };
  }

  /**
   * The design before sessions: the user by primary key, the session not consulted, so a
   * revoked session keeps working until its access token expires. Only `bench/` uses it,
   * to measure what immediate revocation costs (AppOptions.immediateRevocation = false).
   */
  async viewerWithoutRevocation(em: SqlEntityManager, claims: AccessClaims): Promise<Viewer> {
    const user = await em.findOne(User, { id: claims.sub });
    if (!user) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    return { user, session: em.getReference(Session, claims.sid) };
  }

  /**
   * Single-use rotation. The refresh token is consumed with one atomic UPDATE, so of
   * concurrent refreshes exactly one wins; a replay of a token rotated less than
   * REFRESH_REUSE_GRACE ago also succeeds (two tabs racing); any other replay ends the
   * whole session. Everything happens in one transaction: a failure consumes nothing.
   */
  async rotate(em: SqlEntityManager, claims: RefreshClaims, token: string, client: ClientInfo): Promise<IssuedSession> {
    const tokenHash = Tokens.hash(token);
    const outcome = await em.transactional(async (tx): Promise<IssuedSession | 'reused'> => {
      const session = this.usable(await tx.findOne(Session, { id: claims.sid }, { populate: ['user'] }), claims);
      const now = new Date();
      const consumed = await tx.nativeUpdate(RefreshToken, { tokenHash, session: session.id, usedAt: null }, { usedAt: now });
      if (consumed === 0) {
        const used = await tx.findOne(RefreshToken, { tokenHash, session: session.id });
        if (!used?.usedAt) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The refresh token is invalid');
        if (now.getTime() - used.usedAt.getTime() >= this.config.refreshReuseGraceMs) return 'reused';
      }
      session.lastUsedAt = now;
      if (client.ip) session.ip = client.ip;
      const refresh = this.addRefreshToken(tx, session);
      return { user: session.user, session, refresh };
    });
    if (outcome === 'reused') {
      await this.revoke(em, claims.sid);
      // The presenter may be a thief: no actor, the account and session it targeted as subject.
      await this.audit.record(em, originOf(client, null), {
        type: AuditEventType.REFRESH_TOKEN_REUSED,
        subjectId: claims.sub,
        sessionId: claims.sid,
      });
      throw new AuthenticationFailure(AuthReason.REFRESH_TOKEN_REUSED);
    }
    return outcome;
  }

  /** Ends a session: its refresh tokens and the access tokens that name it stop working. */
  async revoke(em: SqlEntityManager, sessionId: string): Promise<boolean> {
    const ended = await em.nativeUpdate(Session, { id: sessionId, revokedAt: null }, { revokedAt: new Date() });
    return ended > 0;
  }

  /** Logout: ends the viewer's current session and records it. */
  async logout(em: SqlEntityManager, viewer: Viewer, origin: AuditOrigin): Promise<boolean> {
    const ended = await this.revoke(em, viewer.session.id);
    if (ended)
      await this.audit.record(em, origin, { type: AuditEventType.LOGOUT, subjectId: viewer.user.id, sessionId: viewer.session.id });
    return ended;
  }

  /** Ends every session of the viewer; one LOGOUT event, its detail says how many sessions ended. */
  async logoutAll(em: SqlEntityManager, viewer: Viewer, origin: AuditOrigin): Promise<number> {
    const ended = await this.revokeAllOf(em, viewer.user.id);
    await this.audit.record(em, origin, {
      type: AuditEventType.LOGOUT,
      subjectId: viewer.user.id,
      sessionId: viewer.session.id,
      detail: `all sessions (${ended})`,
    });
    return ended;
  }

  /** Ends every live session of a user, except `keep` when given; returns how many ended. */
  revokeAllOf(em: SqlEntityManager, userId: string, keep?: string): Promise<number> {
    return em.nativeUpdate(Session, { user: userId, revokedAt: null, ...(keep ? { id: { $ne: keep } } : {}) }, { revokedAt: new Date() });
  }

  /** Ends one of the viewer's own sessions; another user's session is never touched. */
  async revokeOwn(em: SqlEntityManager, viewer: Viewer, sessionId: string, origin?: AuditOrigin): Promise<boolean> {
    if (!isUuid(sessionId)) return false;
    const ended = await em.nativeUpdate(Session, { id: sessionId, user: viewer.user.id, revokedAt: null }, { revokedAt: new Date() });
    if (ended > 0 && origin) {
      await this.audit.record(em, origin, { type: AuditEventType.SESSION_REVOKED, subjectId: viewer.user.id, sessionId });
    }
    return ended > 0;
  }

  async listLive(em: SqlEntityManager, viewer: Viewer): Promise<SessionView[]> {
    const sessions = await em.find(
      Session,
      { user: viewer.user.id, revokedAt: null, expiresAt: { $gt: new Date() } },
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
    return sessions.map((s) => ({
      id: s.id,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      expiresAt: s.expiresAt,
      userAgent: s.userAgent,
      ip: s.ip,
      current: s.id === viewer.session.id,
    }));
  }

  /**
   * After a password change: the current session gets a fresh refresh token and its
   * earlier unused ones are withdrawn, so only the pair returned now keeps it going.
   */
  async reissue(em: SqlEntityManager, viewer: Viewer): Promise<IssuedSession> {
    await em.nativeDelete(RefreshToken, { session: viewer.session.id, usedAt: null });
    const refresh = this.addRefreshToken(em, viewer.session);
    await em.flush();
    return { user: viewer.user, session: viewer.session, refresh };
  }

  private usable(session: Session | null, claims: { sub: string; sid: string }): Session {
    if (!session || session.user.id !== claims.sub) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    if (session.revokedAt) throw new AuthenticationFailure(AuthReason.TOKEN_REVOKED);
    if (session.expiresAt.getTime() <= Date.now()) throw new AuthenticationFailure(AuthReason.TOKEN_EXPIRED);
    if (!session.user.isActive) throw new AuthenticationFailure(AuthReason.ACCOUNT_DISABLED);
    return session;
  }

  private addRefreshToken(em: SqlEntityManager, session: Session): SignedToken {
    const refresh = this.tokens.signRefresh({ userId: session.user.id, sessionId: session.id, expiresAt: session.expiresAt });
    em.create(RefreshToken, { session, tokenHash: Tokens.hash(refresh.token) });
    return refresh;
  }
}
