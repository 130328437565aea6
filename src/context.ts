import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Request, Response } from 'express';
import type { TokenCodec } from './credentials/token.codec';
import type { Orm } from './db/orm';
import { RefreshCookie } from './http/refresh-cookie';
import { requestIdOf } from './http/request-id';
import { RequestAuth } from './sessions/request-auth';
import type { SessionService } from './sessions/session.service';
import { clientInfo, type ClientInfo } from './validation/client-info';

/** What one GraphQL request carries: request data only. Services reach resolvers by injection. */
export interface Context {
  /** A fresh unit of work for this request. */
  readonly em: SqlEntityManager;
  readonly requestId: string;
  /** The client's address (as TRUST_PROXY allows) and user agent. */
  readonly client: ClientInfo;
  /** The bearer token, verified once, and the viewer it names. */
  readonly auth: RequestAuth;
  /** The refresh-token cookie of cookie mode. */
  readonly refreshCookie: RefreshCookie;
  /** Aborts when the client closes its connection before the answer: work queued for it is dropped. */
  readonly signal: AbortSignal;
}

export interface ContextDependencies {
  readonly orm: Orm;
  readonly tokens: TokenCodec;
  readonly sessions: SessionService;
  /** `Secure` refresh cookies (production). */
  readonly secureCookies: boolean;
}

/** A signal that aborts once the connection closes before the response has been sent in full. */
function abortedWhenClientLeaves(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  if (req.socket.destroyed) controller.abort();
  else {
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}

/** Builds each request's context: the token is verified here and nowhere else. */
export function contextBuilder({ orm, tokens, sessions, secureCookies }: ContextDependencies) {
  return async ({ req, res }: { req: Request; res: Response }): Promise<Context> => {
    // The unit of work is forked on first use: many requests (a rejected token, a refused
    // rate limit) never touch the database.
    let em: SqlEntityManager | undefined;
    const unitOfWork = (): SqlEntityManager => (em ??= orm.em.fork());
    return {
      get em(): SqlEntityManager {
        return unitOfWork();
      },
      requestId: requestIdOf(res),
      client: clientInfo(req.ip, req.get('user-agent')),
      refreshCookie: new RefreshCookie(req, res, secureCookies),
      signal: abortedWhenClientLeaves(req, res),
      auth: RequestAuth.fromHeader(req.get('authorization'), tokens, (claims) => sessions.viewer(unitOfWork(), claims)),
    };
  };
}
