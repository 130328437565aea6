import type { Request, Response } from 'express';
import type { TokenCodec } from './credentials/token.codec';
import type { Orm } from './db/orm';
import { UnitOfWork } from './db/unit-of-work';
import { RefreshCookie } from './http/refresh-cookie';
import { requestIdOf } from './http/request-id';
import { RequestAuth } from './sessions/request-auth';
import type { ViewerReader } from './sessions/viewer';
import { clientInfo, type ClientInfo } from './validation/client-info';

/** What one GraphQL request carries: request data only. Services reach resolvers by injection. */
export interface Context {
  /**
   * This request's unit of work: `unitOfWork.em` forks it on first use. Only resolvers that read or
   * write through the ORM ask for it; the viewer needs none.
   */
  readonly unitOfWork: UnitOfWork;
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
  readonly viewers: ViewerReader;
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
export function contextBuilder({ orm, tokens, viewers, secureCookies }: ContextDependencies) {
  // Plain data properties only: Apollo copies the context with Object.assign, which would call a getter.
  return async ({ req, res }: { req: Request; res: Response }): Promise<Context> => {
    return {
      unitOfWork: new UnitOfWork(orm),
      requestId: requestIdOf(res),
      client: clientInfo(req.ip, req.get('user-agent')),
      refreshCookie: new RefreshCookie(req, res, secureCookies),
      signal: abortedWhenClientLeaves(req, res),
      auth: RequestAuth.fromHeader(req.get('authorization'), tokens, (claims) => viewers.read(claims)),
    };
  };
}
