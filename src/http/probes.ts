import { Router } from 'express';
import type { TokenCodec } from '../credentials/token.codec';
import { diskFull } from '../db/disk-space';
import { databaseAnswers, type Orm } from '../db/orm';

const READINESS_TIMEOUT_MS = 2000;

/**
 * `/healthz` (the process is up), `/readyz` (the database answers; the embedded one's disk, under
 * `embeddedDataDir`, has room; and the instance is not shutting down: `draining()` says so from
 * SIGTERM on) and the public access-token keys at `/.well-known/jwks.json` for other services
 * (empty when access tokens use HS256).
 */
export function probes(
  orm: Orm,
  databaseUrl: string | undefined,
  tokens: TokenCodec,
  draining: () => boolean,
  embeddedDataDir?: string,
): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json({ keys: tokens.publicJwks() });
  });
  router.get('/readyz', async (_req, res) => {
    if (draining()) {
      res.status(503).json({ status: 'shutting down' });
      return;
    }
    // The embedded database answers reads on a full disk while every write fails: not ready.
    if (embeddedDataDir !== undefined && diskFull(embeddedDataDir)) {
      res.status(503).json({ status: 'disk full' });
      return;
    }
    const ready = await databaseAnswers(orm, READINESS_TIMEOUT_MS, databaseUrl);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'database unavailable' });
  });
  return router;
}
