import type { RequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Every response carries `x-request-id`: the client's own when well-formed, otherwise a new UUID. */
export function requestIds(): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals['requestId'] = requestId;
    res.setHeader('x-request-id', requestId);
    next();
  };
}

export function requestIdOf(res: Response): string {
  return res.locals['requestId'] as string;
}
