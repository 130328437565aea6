import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { createHttpServer } from './http-server';

const digest = (value: Buffer | string): Buffer => createHash('sha256').update(value).digest();

/**
 * `Authorization: Bearer <token>` compared in constant time: both sides are hashed first, so
 * neither the content nor the length of the token shows in the time a refusal takes.
 */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  const given = match?.[1];
  const equal = timingSafeEqual(digest(given ?? ''), digest(expected));
  return given !== undefined && equal;
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/**
 * Answers one request for `/metrics` (any other path or method: 404). `token`: the request must
 * bear it (401 otherwise). `metrics` undefined: metrics are off, 404.
 */
async function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  metrics: Metrics | undefined,
  token: Buffer | undefined,
  logger: Logger,
) {
  const path = (req.url ?? '').split('?')[0];
  if (!metrics || path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
    send(res, 404, 'application/json; charset=utf-8', JSON.stringify({ error: 'not found' }));
    return;
  }
  if (token && !bearerMatches(req.headers.authorization, token)) {
    send(res, 401, 'application/json; charset=utf-8', JSON.stringify({ error: 'unauthorized' }), {
      'www-authenticate': 'Bearer realm="metrics"',
    });
    return;
  }
  try {
    const { contentType, body } = await metrics.exposition();
    send(res, 200, contentType, req.method === 'HEAD' ? '' : body);
  } catch (err) {
    logger.error({ err }, 'metrics: the exposition failed');
    send(res, 500, 'application/json; charset=utf-8', JSON.stringify({ error: 'metrics unavailable' }));
  }
}

/** Whether `/metrics` is served at all: a token, or a port of its own. Neither: off (404). */
export function metricsEnabled(config: Pick<Config, 'metrics'>): boolean {
  return config.metrics.token !== undefined || config.metrics.port !== undefined;
}

/**
 * `/metrics` on the API's own port: served only with METRICS_TOKEN and without METRICS_PORT;
 * otherwise 404 (metrics off, or served on their own port). Other paths pass on.
 */
export function metricsOnApiPort(metrics: Metrics | undefined, config: Pick<Config, 'metrics'>, logger: Logger) {
  const served = config.metrics.port === undefined ? metrics : undefined;
  return (req: http.IncomingMessage, res: http.ServerResponse, next: () => void): void => {
    if (!(req.url ?? '').startsWith('/metrics')) {
      next();
      return;
    }
    void answer(req, res, served, config.metrics.token, logger);
  };
}

/**
 * The listener of METRICS_PORT: `/metrics` only, with the same limits against slow clients as the
 * API's. Without METRICS_TOKEN it answers anyone who can reach the port, which is the point of a
 * port of its own (expose it to the scraper's network only); with it, scrapes must bear it here too.
 */
export function createMetricsServer(metrics: Metrics, config: Pick<Config, 'metrics' | 'http'>, logger: Logger): http.Server {
  return createHttpServer((req, res) => void answer(req, res, metrics, config.metrics.token, logger), config.http);
}

/** Scrapes are short and nothing depends on the last one: the listener closes with its connections at once. */
export function closeMetricsServer(server: http.Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
