import type { Request, RequestHandler, Response } from 'express';
import { performance } from 'node:perf_hooks';
import pinoHttp from 'pino-http';
import { operationSeen } from '../graphql/request-metrics.plugin';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import type { RequestTracing } from '../tracing/request-tracing';
import { requestIdOf } from './request-id';

/** Routes with a label of their own in the HTTP metrics; every other path counts as `other`. */
const ROUTES: ReadonlySet<string> = new Set(['/graphql', '/healthz', '/readyz', '/metrics', '/.well-known/jwks.json']);
/** Probes and scrapes arrive every few seconds: their lines are at debug level. */
const QUIET_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);
/** nginx's status for a request whose client closed the connection before the response was sent. */
const CLIENT_CLOSED = 499;
/** Longest path kept in a line; the query string is never logged (a GET may carry variables). */
const PATH_MAX = 200;

const STARTED = 'accessLogStartedAt';

function pathOf(req: Request): string {
  const url = req.originalUrl;
  const end = url.indexOf('?');
  return (end < 0 ? url : url.slice(0, end)).slice(0, PATH_MAX);
}

interface AccessLine {
  method: string;
  path: string;
  operation?: string;
  operationName?: string;
  status: number;
  durationMs: number;
  clientIp: string | undefined;
  aborted?: true;
}

/** What one line says of a request: nothing from headers, body or query string but the operation. */
function lineOf(req: Request, res: Response, durationMs: number): AccessLine {
  const aborted = !res.writableFinished;
  const seen = operationSeen(res);
  return {
    method: req.method,
    path: pathOf(req),
    ...(seen ? { operation: seen.operation, operationName: seen.operationName } : {}),
    status: aborted && !res.headersSent ? CLIENT_CLOSED : res.statusCode,
    durationMs: Math.round(durationMs * 10) / 10,
    clientIp: req.ip,
    ...(aborted ? { aborted: true } : {}),
  };
}

/**
 * One line per request (pino-http), written when the response has finished or the client has left:
 * request id, method, path, GraphQL operation, status, duration and client address; never a
 * header, a cookie, a body or a query string. The same moment feeds the HTTP and GraphQL latency
 * metrics and the request's span (when tracing is on), so a request costs one set of listeners.
 */
export function accessLog(logger: Logger, metrics: Metrics | undefined, tracing: RequestTracing | undefined): RequestHandler {
  const record = (req: Request, res: Response): AccessLine => {
    const startedAt = res.locals[STARTED] as number;
    const endedAt = performance.now();
    const line = lineOf(req, res, endedAt - startedAt);
    const route = ROUTES.has(line.path) ? line.path : 'other';
    if (metrics) {
      const seconds = (endedAt - startedAt) / 1000;
      metrics.httpRequests.inc({ route, status: String(line.status) });
      metrics.httpDuration.observe({ route }, seconds);
      if (line.operation !== undefined) metrics.graphqlDuration.observe({ operation: line.operation }, seconds);
    }
    tracing?.record({
      headers: req.headers,
      requestId: requestIdOf(res),
      method: line.method,
      route,
      path: line.path,
      operation: line.operation,
      operationName: line.operationName,
      status: line.status,
      clientIp: line.clientIp,
      startedAt: performance.timeOrigin + startedAt,
      endedAt: performance.timeOrigin + endedAt,
    });
    return line;
  };
  const middleware = pinoHttp({
    // A line holds no secret by construction (lineOf), and pino-http binds a child logger to every
    // request: without the app logger's redaction paths, which pino would apply to each child's bindings.
    logger: logger.child({}, { redact: [] }),
    genReqId: (_req, res) => requestIdOf(res as Response),
    customAttributeKeys: { reqId: 'requestId' },
    // Only the request id is bound to the request's logger; the line is built when it ends.
    quietReqLogger: true,
    quietResLogger: true,
    wrapSerializers: false,
    serializers: { req: () => undefined },
    customLogLevel: (req, res, err) => {
      if (err || res.statusCode >= 500) return 'warn';
      return QUIET_ROUTES.has(pathOf(req as Request)) ? 'debug' : 'info';
    },
    customSuccessObject: (req, res) => record(req as Request, res as Response),
    // The failure itself is logged where it happened, with the request id; this line stays the same shape.
    customErrorObject: (req, res) => record(req as Request, res as Response),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request',
  });
  return (req, res, next) => {
    res.locals[STARTED] = performance.now();
    middleware(req, res, next);
  };
}
