import { parseCookie } from 'cookie';
import type { Request, Response } from 'express';

export const REFRESH_COOKIE = 'refresh_token';
/** The cookie goes only to the GraphQL endpoint, never to other paths of the origin. */
export const REFRESH_COOKIE_PATH = '/graphql';

/**
 * Cookie mode for browsers: the refresh token lives only in an HttpOnly, SameSite=Strict,
 * path-scoped cookie (Secure in production), out of reach of page JavaScript.
 */
export class RefreshCookie {
  constructor(
    private readonly req: Request,
    private readonly res: Response,
    private readonly secure: boolean,
  ) {}

  read(): string | undefined {
    const header = this.req.headers.cookie;
    if (!header) return undefined;
    const value = parseCookie(header)[REFRESH_COOKIE];
    return value === undefined || value === '' ? undefined : value;
  }

  set(token: string, expiresAt: Date): void {
    this.res.cookie(REFRESH_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.secure,
      path: REFRESH_COOKIE_PATH,
      expires: expiresAt,
    });
  }

  clear(): void {
    this.res.clearCookie(REFRESH_COOKIE, { httpOnly: true, sameSite: 'strict', secure: this.secure, path: REFRESH_COOKIE_PATH });
  }
}
