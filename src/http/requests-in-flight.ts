import type { RequestHandler } from 'express';

/** What a refused client is told to wait: requests in flight finish in well under a second. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Admission control for the whole server: at most `max` requests are worked on at once; the next
 * is answered 503 with `Retry-After` at once, before its body is read, instead of queueing behind
 * work it would time out waiting for. `max` 0: no cap.
 *
 * Two middlewares: `admit` refuses on arrival (mounted after the probes, so /healthz and /readyz
 * always answer, and before any body is read); `count` counts a request from when its body has
 * arrived until its response ends. A request still sending its body is not counted, so clients
 * that stall their bodies cannot hold the slots and lock everyone out: they are bounded by
 * HTTP_MAX_CONNECTIONS and HTTP_REQUEST_TIMEOUT instead.
 */
export function requestsInFlight(max: number): { admit: RequestHandler; count: RequestHandler } {
  let inFlight = 0;
  return {
    admit: (_req, res, next) => {
      if (max === 0 || inFlight < max) {
        next();
        return;
      }
      // The unread body makes the connection useless for another request: close it.
      res
        .status(503)
        .set({ 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' })
        .json({
          errors: [
            {
              message: 'The service is busy; try again shortly',
              extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: RETRY_AFTER_SECONDS },
            },
          ],
        });
    },
    count: (_req, res, next) => {
      inFlight++;
      res.once('close', () => {
        inFlight--;
      });
      next();
    },
  };
}
