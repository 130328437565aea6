import type { Context } from '../context';
import type { IssuedSession } from '../sessions/session.service';
import { TokenTransport } from '../sessions/token-transport';
import { AuthPayload } from './auth.types';

/**
 * The answer of a sign-in: the rest of the request acts as the session just issued, and the
 * refresh token travels as the session was set up at login: in the body or, in cookie mode, only
 * in the HttpOnly cookie (whatever this request carried).
 */
export function authPayload(ctx: Context, { user, session, access, refresh, viewer }: IssuedSession): AuthPayload {
  ctx.auth.signedInAs(viewer);
  const cookieMode = session.refreshTransport === TokenTransport.COOKIE;
  if (cookieMode) ctx.refreshCookie.set(refresh.token, refresh.expiresAt);
  return Object.assign(new AuthPayload(), {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt,
    refreshToken: cookieMode ? null : refresh.token,
    user,
  });
}
