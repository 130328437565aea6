import { registerEnumType } from 'type-graphql';

/** How a session's refresh token travels: chosen at login, kept for the life of the session. */
export enum TokenTransport {
  BODY = 'BODY',
  COOKIE = 'COOKIE',
}

registerEnumType(TokenTransport, {
  name: 'TokenTransport',
  description: 'BODY: the refresh token is in the response. COOKIE: only in an HttpOnly cookie (for browsers).',
});
