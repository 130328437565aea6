import type { SqlEntityManager } from '@mikro-orm/sql';
import type { AuditService } from './audit/audit.service';
import type { AuthService } from './auth/auth.service';
import type { RefreshCookie } from './auth/refresh-cookie';
import type { AccessClaims, TokenService } from './auth/token.service';
import { AuthReason, AuthenticationFailure } from './errors';
import type { RateLimiter } from './rate-limits/rate-limiter';
import type { SessionService, Viewer } from './sessions/session.service';
import type { UserService } from './users/user.service';

/** Built once at start-up and shared by every request. */
export interface Services {
  readonly auth: AuthService;
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly tokens: TokenService;
  readonly audit: AuditService;
  readonly rateLimits: RateLimiter;
}

export interface Context {
  /** A fresh unit of work for this request. */
  readonly em: SqlEntityManager;
  readonly requestId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly auth: RequestAuth;
  readonly services: Services;
  /** The refresh-token cookie of cookie mode. */
  readonly refreshCookie: RefreshCookie;
}

/**
 * The request's authentication, decided once: the bearer token is verified when the
 * context is built; the viewer (user plus session state) is loaded on first use and
 * shared by every guard and resolver of the request.
 */
export class RequestAuth {
  private loaded: Promise<Viewer> | undefined;

  private constructor(
    private readonly claims: AccessClaims | undefined,
    private failure: AuthenticationFailure | undefined,
    private readonly load: (claims: AccessClaims) => Promise<Viewer>,
  ) {}

  static fromHeader(header: string | undefined, tokens: TokenService, load: (claims: AccessClaims) => Promise<Viewer>): RequestAuth {
    if (header === undefined || header === '') {
      return new RequestAuth(undefined, new AuthenticationFailure(AuthReason.TOKEN_MISSING), load);
    }
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/i.exec(header.trim());
    if (!match) {
      return new RequestAuth(
        undefined,
        new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The Authorization header must be "Bearer <access token>"'),
        load,
      );
    }
    try {
      return new RequestAuth(tokens.verifyAccess(match[1]), undefined, load);
    } catch (error) {
      if (error instanceof AuthenticationFailure) return new RequestAuth(undefined, error, load);
      throw error;
    }
  }

  /**
   * After signup, login or refresh the rest of the request acts as the session just
   * issued, so the payload shows the user their own guarded fields (e.g. `email`).
   */
  signedInAs(viewer: Viewer): void {
    this.failure = undefined;
    this.loaded = Promise.resolve(viewer);
  }

  /** The signed-in viewer, or UNAUTHENTICATED with the reason. */
  viewer(): Promise<Viewer> {
    if (this.failure) return Promise.reject(this.failure);
    this.loaded ??= this.load(this.claims as AccessClaims);
    return this.loaded;
  }
}
