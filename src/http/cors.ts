import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * CORS for the origins in CORS_ORIGINS only, with credentials (cookie mode). Any other origin gets
 * no CORS header at all (the `cors` package alone would still send Allow-Credentials to it).
 */
export function corsAllowlist(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  const listed = cors({ origin: true, credentials: true, maxAge: 600 });
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin !== undefined && allowed.has(origin)) listed(req, res, next);
    else next();
  };
}
