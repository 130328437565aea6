import type { RequestHandler } from 'express';

/** What a refused client is told to wait: requests in flight finish in well under a second. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Admission control for the whole server: at most `max` requests are handled at once; the next
 * is answered 503 with `Retry-After` at once, before its body is read, instead of queueing behind
 * work it would time out waiting for. Mounted after the probes, so /healthz and /readyz always
 * answer. `max` 0: no cap.
 */
export function requestsInFlight(max: number): RequestHandler {
  let inFlight = 0;
  return (_req, res, next) => {
    if (max === 0) {
      next();
      return;
    }
    if (inFlight >= max) {
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
      return;
    }
    inFlight++;
    res.once('close', () => {
      inFlight--;
    });
    next();
  };
}
