import { LockMode } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { AuditEventType } from '../audit/audit-event.entity';
import { originOf, type AuditService } from '../audit/audit.service';
import type { RefreshClaims, SignedToken, TokenCodec } from '../credentials/token.codec';
import { hashToken } from '../credentials/token-hash';
import { isUuid } from '../db/uuid';
import { AuthReason, AuthenticationFailure } from '../errors';
import type { User } from '../users/user.entity';
import type { ClientInfo } from '../validation/client-info';
import { RefreshToken, Session } from './session.entity';
import type { TokenTransport } from './token-transport';
import type { SessionSummary } from './session.types';
import { accessRefusal, ViewerQuery, type Viewer } from './viewer';

/** A session with the token pair just issued for it. */
export interface IssuedSession {
  readonly user: User;
  readonly session: Session;
  readonly access: SignedToken;
  readonly refresh: SignedToken;
  /** Who the rest of the request acts as: the snapshot of `user` and `session`. */
  readonly viewer: Viewer;
}

export interface SessionSettings {
  readonly refreshTokenTtlMs: number;
  readonly refreshReuseGraceMs: number;
  readonly maxSessionsPerUser: number;
}

/** Names the purge among the database's advisory locks: one instance purges at a time. */
const PURGE_LOCK_KEY = 7_242_110_002;
const PURGE_BATCH = 500;

/**
 * The `sessions` and `refresh_tokens` tables. Sessions are refresh-token families; their state
 * decides whether access tokens still work.
 */
export class SessionService {
  constructor(
    private readonly tokens: TokenCodec,
    private readonly settings: SessionSettings,
    private readonly audit: AuditService,
  ) {}

  /** Starts a session for a successful login or signup and issues its first token pair. */
  async start(
    em: SqlEntityManager,
    user: User,
    client: ClientInfo,
    transport: TokenTransport,
    amr: readonly string[] = ['pwd'],
  ): Promise<IssuedSession> {
    const now = new Date();
    const session = em.create(Session, {
      user,
      refreshTransport: transport,
      amr: amr.join(','),
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + this.settings.refreshTokenTtlMs),
      ip: client.ip,
      userAgent: client.userAgent,
    });
    const refresh = this.addRefreshToken(em, session);
    await em.flush();
    await this.endBeyondCap(em, user.id, now);
    return this.issued(em, session, refresh);
  }

  /**
   * At most `maxSessionsPerUser` live sessions per user: the oldest beyond it end. Runs in the
   * login's transaction, which holds the user's row, so concurrent logins cannot exceed the cap.
   */
  private async endBeyondCap(em: SqlEntityManager, userId: string, now: Date): Promise<void> {
    const beyond = await em.find(
      Session,
      { user: userId, revokedAt: null, expiresAt: { $gt: now } },
      { orderBy: { createdAt: 'desc', id: 'desc' }, offset: this.settings.maxSessionsPerUser, fields: ['id'] },
    );
    if (beyond.length > 0) await em.nativeUpdate(Session, { id: { $in: beyond.map((s) => s.id) } }, { revokedAt: now });
  }

  /**
   * Deletes sessions that ended (revoked or expired) before `endedBefore`, with their refresh
   * tokens, in batches; returns how many. Under a transaction-scoped advisory lock: when another
   * instance is purging, this one skips the round.
   */
  purgeEnded(em: SqlEntityManager, endedBefore: Date): Promise<number> {
    return em.transactional(async (tx) => {
      // tx.execute runs in the transaction (a bare connection.execute would not, and on the embedded
      // database would wait for the transaction's own connection).
      const [lock] = await tx.execute<{ locked: boolean }[]>('select pg_try_advisory_xact_lock(?) as locked', [PURGE_LOCK_KEY], 'all');
      if (lock?.locked !== true) return 0;
      let purged = 0;
      for (;;) {
        const deleted = await tx.execute<{ id: string }[]>(
          `delete from sessions where id in (select id from sessions where revoked_at < ? or expires_at < ? limit ${String(PURGE_BATCH)}) returning id`,
          [endedBefore, endedBefore],
          'all',
        );
        purged += deleted.length;
        if (deleted.length < PURGE_BATCH) return purged;
      }
    });
  }

  /**
   * Single-use rotation, in the caller's transaction, with the session row locked so rotations of
   * one session take turns. A session has at most one live refresh token: presenting it retires it
   * and issues the next. Within REFRESH_REUSE_GRACE the token rotated last may be presented again
   * (two tabs racing): that retires the live token and issues the next, so the session never forks.
   * Any other used token answers `reused`, and the caller ends the session.
   */
  async rotate(tx: SqlEntityManager, claims: RefreshClaims, token: string, client: ClientInfo): Promise<IssuedSession | 'reused'> {
    const tokenHash = hashToken(token);
    const locked = await tx.findOne(Session, { id: claims.sid }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (locked) await tx.populate(locked, ['user'], { refresh: true });
    const session = this.usable(locked, claims);
    const now = new Date();
    const consumed = await tx.nativeUpdate(RefreshToken, { tokenHash, session: session.id, usedAt: null }, { usedAt: now });
    if (consumed === 0) {
      const used = await tx.findOne(RefreshToken, { tokenHash, session: session.id });
      if (!used?.usedAt) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The refresh token is invalid');
      const rotatedLast = session.lastRotatedHash === tokenHash;
      if (!rotatedLast || now.getTime() - used.usedAt.getTime() >= this.settings.refreshReuseGraceMs) return 'reused';
      // The grace replay: the token issued for the first presentation is retired, not kept beside the new one.
      await tx.nativeUpdate(RefreshToken, { session: session.id, usedAt: null }, { usedAt: now });
    }
    session.lastRotatedHash = tokenHash;
    session.lastUsedAt = now;
    if (client.ip) session.ip = client.ip;
    const refresh = this.addRefreshToken(tx, session);
    await tx.flush();
    return this.issued(tx, session, refresh);
  }

  /** Ends a session: its refresh tokens and the access tokens that name it stop working. */
  async revoke(em: SqlEntityManager, sessionId: string): Promise<boolean> {
    const ended = await em.nativeUpdate(Session, { id: sessionId, revokedAt: null }, { revokedAt: new Date() });
    return ended > 0;
  }

  /** Logout: ends the viewer's current session and records it, in one transaction. */
  logout(em: SqlEntityManager, viewer: Viewer, client: ClientInfo): Promise<boolean> {
    return em.transactional(async (tx) => {
      const ended = await this.revoke(tx, viewer.session.id);
      if (ended) {
        await this.audit.record(tx, originOf(client, viewer.user.id), {
          type: AuditEventType.LOGOUT,
          subjectId: viewer.user.id,
          sessionId: viewer.session.id,
        });
      }
      return ended;
    });
  }

  /**
   * Logout by refresh token (cookie mode, when the access token has expired): ends the session the
   * token belongs to, if the token is one of that session's, and records it.
   */
  logoutByRefreshToken(em: SqlEntityManager, claims: RefreshClaims, token: string, client: ClientInfo): Promise<boolean> {
    return em.transactional(async (tx) => {
      const known = await tx.count(RefreshToken, { tokenHash: hashToken(token), session: { id: claims.sid, user: claims.sub } });
      if (known === 0) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The refresh token is invalid');
      const ended = await this.revoke(tx, claims.sid);
      if (ended) {
        await this.audit.record(tx, originOf(client, claims.sub), {
          type: AuditEventType.LOGOUT,
          subjectId: claims.sub,
          sessionId: claims.sid,
        });
      }
      return ended;
    });
  }

  /** Ends every session of the viewer; one LOGOUT event, its detail says how many sessions ended. */
  logoutAll(em: SqlEntityManager, viewer: Viewer, client: ClientInfo): Promise<number> {
    return em.transactional(async (tx) => {
      const ended = await this.revokeAllOf(tx, viewer.user.id);
      await this.audit.record(tx, originOf(client, viewer.user.id), {
        type: AuditEventType.LOGOUT,
        subjectId: viewer.user.id,
        sessionId: viewer.session.id,
        detail: `all sessions (${String(ended)})`,
      });
      return ended;
    });
  }

  /** Ends every live session of a user, except `keep` when given; returns how many ended. */
  revokeAllOf(em: SqlEntityManager, userId: string, keep?: string): Promise<number> {
    return em.nativeUpdate(Session, { user: userId, revokedAt: null, ...(keep ? { id: { $ne: keep } } : {}) }, { revokedAt: new Date() });
  }

  /** Ends one of the viewer's own sessions; another user's session is never touched. */
  async revokeOwn(em: SqlEntityManager, viewer: Viewer, sessionId: string, client: ClientInfo): Promise<boolean> {
    if (!isUuid(sessionId)) return false;
    return em.transactional(async (tx) => {
      const ended = await tx.nativeUpdate(Session, { id: sessionId, user: viewer.user.id, revokedAt: null }, { revokedAt: new Date() });
      if (ended > 0) {
        await this.audit.record(tx, originOf(client, viewer.user.id), {
          type: AuditEventType.SESSION_REVOKED,
          subjectId: viewer.user.id,
          sessionId,
        });
      }
      return ended > 0;
    });
  }

  async listLive(em: SqlEntityManager, viewer: Viewer): Promise<SessionSummary[]> {
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
   * After a password change, in its transaction: the current session gets a fresh token pair and
   * its earlier unused refresh tokens are withdrawn, so only the pair returned now keeps it going.
   */
  async reissue(tx: SqlEntityManager, viewer: Viewer): Promise<IssuedSession> {
    await tx.nativeDelete(RefreshToken, { session: viewer.session.id, usedAt: null });
    // No grace survives a credential change: a replay of any earlier token is now reuse.
    await tx.nativeUpdate(Session, { id: viewer.session.id }, { lastRotatedHash: null });
    // Not `refresh`: the caller's transaction holds the user, row-locked, and refreshing it would
    // drop what it loaded (the password hash) from what the flush compares with.
    const session = await tx.findOneOrFail(Session, { id: viewer.session.id }, { populate: ['user'] });
    const refresh = this.addRefreshToken(tx, session);
    await tx.flush();
    return this.issued(tx, session, refresh);
  }

  private usable(session: Session | null, claims: { sub: string; sid: string }): Session {
    if (!session) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    const state = { userId: session.user.id, revokedAt: session.revokedAt, expiresAt: session.expiresAt };
    const refusal = accessRefusal(state, session.user.isActive, claims);
    if (refusal) throw refusal;
    return session;
  }

  private addRefreshToken(em: SqlEntityManager, session: Session): SignedToken {
    const refresh = this.tokens.signRefresh({ userId: session.user.id, sessionId: session.id, expiresAt: session.expiresAt });
    em.create(RefreshToken, { session, tokenHash: hashToken(refresh.token) });
    return refresh;
  }

  private issued(em: SqlEntityManager, session: Session, refresh: SignedToken): IssuedSession {
    const { user } = session;
    const access = this.tokens.signAccess({ userId: user.id, sessionId: session.id, role: user.role, amr: session.amr.split(',') });
    return { user, session, access, refresh, viewer: ViewerQuery.of(em.getMetadata()).viewerOfEntities(user, session) };
  }
}
