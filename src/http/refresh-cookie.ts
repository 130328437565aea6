import { parseCookie } from 'cookie';
import type { Request, Response } from 'express';

export const REFRESH_COOKIE = 'refresh_token';
/**
 * In production the cookie carries the `__Secure-` prefix: browsers accept it only with `Secure`
 * from an HTTPS origin, so a sibling subdomain on plain HTTP cannot plant one.
 */
export const SECURE_REFRESH_COOKIE = `__Secure-${REFRESH_COOKIE}`;
/** The cookie goes only to the GraphQL endpoint, never to other paths of the origin. */
export const REFRESH_COOKIE_PATH = '/graphql';

/**
 * Cookie mode for browsers: the refresh token lives only in an HttpOnly, SameSite=Strict,
 * path-scoped cookie (Secure in production), out of reach of page JavaScript.
 */
export class RefreshCookie {
  private readonly name: string;

  constructor(
    private readonly req: Request,
    private readonly res: Response,
    private readonly secure: boolean,
  ) {
    this.name = secure ? SECURE_REFRESH_COOKIE : REFRESH_COOKIE;
  }

  read(): string | undefined {
    const header = this.req.headers.cookie;
    if (!header) return undefined;
    const value = parseCookie(header)[this.name];
    return value === undefined || value === '' ? undefined : value;
  }

  set(token: string, expiresAt: Date): void {
    this.res.cookie(this.name, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.secure,
      path: REFRESH_COOKIE_PATH,
      expires: expiresAt,
    });
  }

  clear(): void {
    this.res.clearCookie(this.name, { httpOnly: true, sameSite: 'strict', secure: this.secure, path: REFRESH_COOKIE_PATH });
  }
}
