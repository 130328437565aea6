import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../config/config';
import type { SigningKey } from '../config/signing-keys';
import { AuthReason, AuthenticationFailure } from '../errors';
import { isRole, type Role } from '../access/role';

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

/** What TokenCodec needs; `signingKeys` absent or empty means HS256 access tokens. */
export type TokenConfig = Pick<Config, 'accessTokenTtlMs'> & {
  readonly jwt: Pick<Config['jwt'], 'accessSecret' | 'refreshSecret' | 'issuer' | 'audience'> & {
    readonly signingKeys?: readonly SigningKey[];
  };
};

/** A public key in JWKS form, for `/.well-known/jwks.json`. */
export interface PublicJwk {
  readonly kid: string;
  readonly alg: string;
  readonly use: 'sig';
  readonly [member: string]: unknown;
}

/** Access tokens remembered as verified, at most (about 2 MB of token text and claims). */
const VERIFIED_MAX = 4096;

/**
 * Signs and verifies both token kinds. Keys are built once as KeyObjects (a string
 * secret would be re-parsed on every call); verification pins the algorithm, requires
 * `exp`, and checks issuer, audience and the `typ` claim, so neither kind passes for the other.
 */
export class TokenCodec {
  private readonly keys: Record<TokenType, KeyObject>;
  private readonly issuer: string;
  private readonly audience: string;
  private readonly accessTtlSeconds: number;
  /** Asymmetric access keys, newest (the signer) first; empty when access tokens use HS256. */
  private readonly signingKeys: readonly SigningKey[];
  private readonly signingKeysByKid: ReadonlyMap<string, SigningKey>;
  private readonly jwks: readonly PublicJwk[];
  /** Access tokens that verified, by their text; Map order is insertion order. */
  private readonly verifiedAccess = new Map<string, AccessClaims>();

  constructor(config: TokenConfig) {
    this.keys = { access: createSecretKey(config.jwt.accessSecret), refresh: createSecretKey(config.jwt.refreshSecret) };
    this.signingKeys = config.jwt.signingKeys ?? [];
    this.signingKeysByKid = new Map(this.signingKeys.map((key) => [key.kid, key]));
    this.jwks = Object.freeze(
      this.signingKeys.map((key) =>
        Object.freeze({
          ...(key.publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
          kid: key.kid,
          alg: key.alg,
          use: 'sig' as const,
        }),
      ),
    );
    this.issuer = config.jwt.issuer;
    this.audience = config.jwt.audience;
    this.accessTtlSeconds = Math.max(1, Math.round(config.accessTokenTtlMs / 1000));
  }

  /** `amr`: how the session was authenticated (RFC 8176 values), for services that demand a second factor. */
  signAccess(claims: { userId: string; sessionId: string; role: Role; amr?: readonly string[] }, now = Date.now()): SignedToken {
    const iat = Math.floor(now / 1000);
    const exp = iat + this.accessTtlSeconds;
    const payload = {
      sub: claims.userId,
      sid: claims.sessionId,
      role: claims.role,
      amr: claims.amr ?? ['pwd'],
      typ: 'access',
      iat,
      exp,
      jti: randomUUID(),
    };
    return { token: this.sign('access', payload), expiresAt: new Date(exp * 1000) };
  }

  /** A refresh token lives until its session's absolute expiry. */
  signRefresh(claims: { userId: string; sessionId: string; expiresAt: Date }, now = Date.now()): SignedToken {
    const iat = Math.floor(now / 1000);
    const exp = Math.floor(claims.expiresAt.getTime() / 1000);
    const payload = { sub: claims.userId, sid: claims.sessionId, typ: 'refresh', iat, exp, jti: randomUUID() };
    return { token: this.sign('refresh', payload), expiresAt: new Date(exp * 1000) };
  }

  /**
   * The claims of a valid access token. A token that verified once is remembered (exact text, at most
   * VERIFIED_MAX of them, the oldest forgotten first) until it expires: a client sends the same token
   * on every request for its lifetime, and the signature check is the largest cost of an
   * authenticated request after the database. Only its expiry is checked again, as jsonwebtoken
   * checks it; a token that failed is never remembered. Whether its session still stands is read
   * from the database on every request, as before.
   */
  verifyAccess(token: string): AccessClaims {
    const known = this.verifiedAccess.get(token);
    if (known) {
      if (Math.floor(Date.now() / 1000) < known.exp) return known;
      this.verifiedAccess.delete(token);
      throw new AuthenticationFailure(AuthReason.TOKEN_EXPIRED);
    }
    const payload = this.verify('access', token);
    const { role } = payload;
    if (!isRole(role)) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    const claims: AccessClaims = Object.freeze({ sub: payload.sub, sid: payload.sid, jti: payload.jti, exp: payload.exp, role });
    if (this.verifiedAccess.size >= VERIFIED_MAX) {
      const oldest = this.verifiedAccess.keys().next();
      if (!oldest.done) this.verifiedAccess.delete(oldest.value);
    }
    this.verifiedAccess.set(token, claims);
    return claims;
  }

  verifyRefresh(token: string): RefreshClaims {
    const payload = this.verify('refresh', token);
    return { sub: payload.sub, sid: payload.sid, jti: payload.jti, exp: payload.exp };
  }

  /** The public access-token keys as JWKs; empty when access tokens use HS256. */
  publicJwks(): readonly PublicJwk[] {
    return this.jwks;
  }

  private sign(type: TokenType, payload: Record<string, unknown>): string {
    const signer = type === 'access' ? this.signingKeys[0] : undefined;
    if (signer) {
      return jwt.sign(payload, signer.privateKey, {
        algorithm: signer.alg,
        keyid: signer.kid,
        issuer: this.issuer,
        audience: this.audience,
      });
    }
    return jwt.sign(payload, this.keys[type], { algorithm: ALGORITHM, issuer: this.issuer, audience: this.audience });
  }

  /**
   * The key and the one algorithm a token may be verified with. With asymmetric keys on, the
   * token's `kid` picks a configured public key and only that key's algorithm is allowed, so an
   * HS256 token (for example one "signed" with the public key as an HMAC secret) never verifies.
   */
  private verificationKey(type: TokenType, token: string): { key: KeyObject; algorithm: jwt.Algorithm } {
    if (type === 'refresh' || this.signingKeys.length === 0) return { key: this.keys[type], algorithm: ALGORITHM };
    let kid: unknown;
    try {
      kid = jwt.decode(token, { complete: true })?.header.kid;
    } catch {
      kid = undefined;
    }
    const signingKey = typeof kid === 'string' ? this.signingKeysByKid.get(kid) : undefined;
    if (!signingKey) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID, invalidMessage(type));
    return { key: signingKey.publicKey, algorithm: signingKey.alg };
  }

  private verify(type: TokenType, token: string): { sub: string; sid: string; jti: string; exp: number; role?: unknown } {
    const { key, algorithm } = this.verificationKey(type, token);
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [algorithm],
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
