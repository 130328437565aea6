import type { AccessClaims, TokenCodec } from '../credentials/token.codec';
import { AuthReason, AuthenticationFailure } from '../errors';
import type { Viewer } from './viewer';

/**
 * The request's authentication, decided once: the bearer token is verified when the
 * context is built; the viewer (user plus session state) is loaded on first use and
 * shared by every guard and resolver of the request.
 */
export class RequestAuth {
  private loaded: Promise<Viewer> | undefined;

  private constructor(
    private readonly claims: AccessClaims | undefined,
    /** Built when first asked for: an Error captures a stack, and most anonymous requests never ask. */
    private failure: AuthenticationFailure | (() => AuthenticationFailure) | undefined,
    private readonly load: (claims: AccessClaims) => Promise<Viewer>,
  ) {}

  /** From the Authorization header; `load` reads the viewer of verified claims (once, when asked). */
  static fromHeader(header: string | undefined, tokens: TokenCodec, load: (claims: AccessClaims) => Promise<Viewer>): RequestAuth {
    if (header === undefined || header === '') {
      return new RequestAuth(undefined, () => new AuthenticationFailure(AuthReason.TOKEN_MISSING), load);
    }
    const token = /^Bearer ([A-Za-z0-9_.-]+)$/i.exec(header.trim())?.[1];
    if (token === undefined) {
      return new RequestAuth(
        undefined,
        () => new AuthenticationFailure(AuthReason.TOKEN_INVALID, 'The Authorization header must be "Bearer <access token>"'),
        load,
      );
    }
    try {
      return new RequestAuth(tokens.verifyAccess(token), undefined, load);
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
    if (typeof this.failure === 'function') this.failure = this.failure();
    if (this.failure) return Promise.reject(this.failure);
    if (this.loaded) return this.loaded;
    if (this.claims === undefined) return Promise.reject(new AuthenticationFailure(AuthReason.TOKEN_MISSING));
    this.loaded = this.load(this.claims);
    return this.loaded;
  }
}
