import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../logger';
import { requestIdOf } from './request-id';

/** Body-parser and other HTTP-level failures: a JSON error, never Express's HTML page or a stack. */
export function httpErrors(logger: Logger): ErrorRequestHandler {
  return (error: { status?: unknown }, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error, requestId: requestIdOf(res) }, 'request failed');
    const message = status === 413 ? 'Request body too large' : status === 500 ? 'Internal server error' : 'Bad request';
    res.status(status).json({ errors: [{ message, extensions: { code: status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
  };
}
