import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/**
 * Outside production Apollo's landing page (embedded Sandbox) loads its scripts, styles and
 * frame from Apollo's CDN and runs nonce-tagged inline scripts; its own <meta> policy pins the
 * nonce. The header policy only has to let those origins through.
 */
const LANDING_PAGE_CDN = 'https://apollo-server-landing-page.cdn.apollographql.com';
const DEVELOPMENT_CSP = {
  'script-src': [
    "'self'",
    "'unsafe-inline'",
    LANDING_PAGE_CDN,
    'https://embeddable-sandbox.cdn.apollographql.com',
    'https://embeddable-explorer.cdn.apollographql.com',
  ],
  'img-src': ["'self'", 'data:', LANDING_PAGE_CDN],
  'manifest-src': ["'self'", LANDING_PAGE_CDN],
  'frame-src': ["'self'", 'https://sandbox.embed.apollographql.com', 'https://explorer.embed.apollographql.com'],
  // Sandbox is served over plain http://localhost; upgrading its requests would break it.
  'upgrade-insecure-requests': null,
};

/** In production the service answers only JSON: nothing may load, frame it, or post to it. */
const PRODUCTION_CSP = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Runs helmet's middleware once against a recorder and returns the headers it set. Every value is
 * fixed at start-up (no nonce or other per-request directive), so each request only copies them.
 */
function headersOf(middleware: RequestHandler): (readonly [string, string])[] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name, String(value));
      return recorder;
    },
    removeHeader(name: string) {
      headers.delete(name);
    },
  };
  const outcome = { done: false };
  // No directive reads the request (nothing per request), so none is given.
  void middleware(Object.create(null) as Request, recorder as unknown as Response, (error?: unknown) => {
    if (error !== undefined) throw error instanceof Error ? error : new Error('helmet refused its options');
    outcome.done = true;
  });
  if (!outcome.done) throw new Error('helmet did not finish synchronously: its headers cannot be computed once');
  return [...headers];
}

/**
 * helmet's headers on every response, the same values as helmet sets, computed once at start-up
 * (helmet itself rebuilds nothing but still runs a dozen middlewares per request); HSTS only in
 * production (development runs on plain HTTP).
 */
export function securityHeaders(isProduction: boolean): RequestHandler {
  const headers = headersOf(
    helmet({
      contentSecurityPolicy: isProduction
        ? { useDefaults: false, directives: PRODUCTION_CSP }
        : { useDefaults: true, directives: DEVELOPMENT_CSP },
      strictTransportSecurity: isProduction ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      xFrameOptions: { action: isProduction ? 'deny' : 'sameorigin' },
      // Express's own header is off (app.disable('x-powered-by')); there is nothing to remove per request.
      xPoweredBy: false,
    }),
  );
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}
