import type { RequestHandler } from 'express';
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

/** helmet's headers on every response; HSTS only in production (development runs on plain HTTP). */
export function securityHeaders(isProduction: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: isProduction
      ? { useDefaults: false, directives: PRODUCTION_CSP }
      : { useDefaults: true, directives: DEVELOPMENT_CSP },
    strictTransportSecurity: isProduction ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: isProduction ? 'deny' : 'sameorigin' },
  });
}
