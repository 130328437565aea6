import { createHash, createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../config';
import { AuthReason, AuthenticationFailure } from '../errors';
import type { Role } from '../users/role';

export type TokenType = 'access' | 'refresh';

export interface AccessClaims {
  readonly sub: string;
  readonly sid: string;
  readonly role: Role;
  readonly jti: string;
  readonly exp: number;
}

export interface RefreshClaims {
  readonly sub: string;
  readonly sid: string;
  readonly jti: string;
  readonly exp: number;
}

export interface SignedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

const ALGORITHM = 'HS256';

/**
 * Signs and verifies both token kinds. Keys are built once as KeyObjects (a string
 * secret would be re-parsed on every call); verification pins the algorithm, requires
 * `exp`, and checks issuer, audience and the `typ` claim, so neither kind passes for the other.
 */
export class TokenService {
  private readonly keys: Record<TokenType, KeyObject>;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly accessTtlSeconds: number;

  constructor(config: Pick<Config, 'jwt' | 'accessTokenTtlMs'>) {
    this.keys = { access: createSecretKey(config.jwt.accessSecret), refresh: createSecretKey(config.jwt.refreshSecret) };
    this.issuer = config.jwt.issuer;
    this.audience = config.jwt.audience;
    this.accessTtlSeconds = Math.max(1, Math.round(config.accessTokenTtlMs / 1000));
  }

  signAccess(claims: { userId: string; sessionId: string; role: Role }, now = Date.now()): SignedToken {
    const iat = Math.floor(now / 1000);
    const exp = iat + this.accessTtlSeconds;
    const payload = { sub: claims.userId, sid: claims.sessionId, role: claims.role, typ: 'access', iat, exp, jti: randomUUID() };
    return { token: this.sign('access', payload), expiresAt: new Date(exp * 1000) };
  }

  /** A refresh token lives until its session's absolute expiry. */
  signRefresh(claims: { userId: string; sessionId: string; expiresAt: Date }, now = Date.now()): SignedToken {
    const iat = Math.floor(now / 1000);
    const exp = Math.floor(claims.expiresAt.getTime() / 1000);
    const payload = { sub: claims.userId, sid: claims.sessionId, typ: 'refresh', iat, exp, jti: randomUUID() };
    return { token: this.sign('refresh', payload), expiresAt: new Date(exp * 1000) };
  }

  verifyAccess(token: string): AccessClaims {
    const payload = this.verify('access', token);
    const { role } = payload;
    if (typeof role !== 'string') throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    return { sub: payload.sub, sid: payload.sid, jti: payload.jti, exp: payload.exp, role: role as Role };
  }

  verifyRefresh(token: string): RefreshClaims {
    const payload = this.verify('refresh', token);
    return { sub: payload.sub, sid: payload.sid, jti: payload.jti, exp: payload.exp };
  }

  /** Refresh tokens are stored only as this digest. */
  static hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }

  private sign(type: TokenType, payload: Record<string, unknown>): string {
    return jwt.sign(payload, this.keys[type], { algorithm: ALGORITHM, issuer: this.issuer, audience: this.audience });
  }

  private verify(type: TokenType, token: string): { sub: string; sid: string; jti: string; exp: number; role?: unknown } {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.keys[type], {
        algorithms: [ALGORITHM],
        issuer: this.issuer,
        audience: this.audience,
      });
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) throw new AuthenticationFailure(AuthReason.TOKEN_EXPIRED);
      throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, invalidMessage(type));
    }
    if (
      typeof payload !== 'object' ||
      payload['typ'] !== type ||
      typeof payload.exp !== 'number' ||
      typeof payload.sub !== 'string' ||
      typeof payload['sid'] !== 'string' ||
      typeof payload.jti !== 'string'
    ) {
      throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, invalidMessage(type));
    }
    return { sub: payload.sub, sid: payload['sid'], jti: payload.jti, exp: payload.exp, role: payload['role'] };
  }
}

function invalidMessage(type: TokenType): string {
  return type === 'access' ? 'The access token is invalid' : 'The refresh token is invalid';
}
