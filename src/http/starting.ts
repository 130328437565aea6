import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors';

/** Seconds a client is asked to wait while the database opens and migrations run. */
const RETRY_AFTER_SECONDS = 1;

/**
 * What the port answers between `listen` and the moment the app is built (the embedded database is
 * opened only once the port is ours): `/healthz` 200, since the process is up; everything else 503
 * with `Retry-After`, GraphQL requests as a GraphQL error a client already knows how to retry.
 */
export function startingHandler(req: IncomingMessage, res: ServerResponse): void {
  // Drain any body so the connection can be reused for the retry.
  req.resume();
  const pathname = (req.url ?? '/').split('?')[0];
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...(status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {}),
    });
    res.end(JSON.stringify(body));
  };
  if (pathname === '/healthz') send(200, { status: 'ok' });
  else if (pathname === '/graphql') {
    send(503, {
      errors: [
        {
          message: 'The service is starting; try again shortly',
          extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfter: RETRY_AFTER_SECONDS },
        },
      ],
    });
  } else send(503, { status: 'starting' });
}
