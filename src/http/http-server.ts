import type { RequestListener } from 'node:http';
import http from 'node:http';
import type { Config } from '../config/config';

/** How often Node looks for requests past their header or request deadline (its default is 30 s). */
const MAX_TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Node's HTTP server with limits fit for an auth API. Its defaults (60 s for the headers, 300 s for
 * the whole request, no connection cap) let a few hundred slow clients hold every descriptor and
 * stalled bodies hold memory: here headers and bodies have short deadlines (408, then the connection
 * closes), idle keep-alive connections close, and connections beyond the cap are closed as soon as
 * they are accepted, before they cost a parser or a request.
 */
export function createHttpServer(listener: RequestListener | undefined, limits: Config['http']): http.Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(MAX_TIMEOUT_CHECK_INTERVAL_MS, limits.headersTimeoutMs),
    },
    listener,
  );
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  return server;
}
