/** Socket errors of a database that cannot be reached (refused, reset, unreachable, unresolvable). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is away rather than a statement that failed: class 08 (connection
 * exception; not 08P01, a protocol violation such as a NUL byte in a value, which is the request's
 * fault), 57P01/57P02 (administrator or crash shutdown), 57P03 (starting up, shutting down,
 * in recovery), 53300 (too many connections), 53100 (disk full: no write succeeds until an
 * operator frees space, and then the same request does); and the deadlines of
 * DATABASE_STATEMENT_TIMEOUT: 57014 (statement timeout, or a statement cancelled), 55P03 (lock
 * timeout), 25P03 (a transaction idle too long, its session ended).
 */
const SERVER_STATES = /^(08(?!P01)[0-9A-Z]{3}|57P0[123]|53[13]00|57014|55P03|25P03)$/;

/** A filesystem without room (the embedded database's, or a file of PostgreSQL's surfacing as errno). */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** Emscripten's (WASI) errno numbers for no space (ENOSPC 51) and quota exceeded (EDQUOT 19), as PGlite's filesystem throws them. */
const EMSCRIPTEN_NO_SPACE = new Set([51, 19]);

/**
 * What pg and pg-pool throw, without a code, when a connection is lost or cannot be made in time,
 * or a query gets no answer within pg's `query_timeout`.
 */
const DRIVER_MESSAGES =
  /^(Query read timeout|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)/;

const MAX_DEPTH = 6;

/**
 * True when an error means the database cannot be reached right now (stopped, restarting,
 * unreachable, the connection died mid-query, or its disk is full), as opposed to a statement that failed.
 *
 * Errors arrive wrapped (GraphQL's located error, MikroORM's DriverException, an AggregateError
 * from a connect that tried several addresses) and, under Jest, from another realm where
 * `instanceof Error` fails; so the chain is walked by shape: `code`, `message`, and the
 * `originalError`/`thrownValue`/`cause`/`errors` links.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH || typeof error !== 'object' || error === null) return false;
  const { code, message, originalError, thrownValue, cause, errors, name, errno } = error as Record<string, unknown>;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SERVER_STATES.test(code) || NO_SPACE_CODES.has(code))) return true;
  if (name === 'ErrnoError' && typeof errno === 'number' && EMSCRIPTEN_NO_SPACE.has(errno)) return true;
  if (typeof message === 'string' && DRIVER_MESSAGES.test(message)) return true;
  const linked = [originalError, thrownValue, cause, ...(Array.isArray(errors) ? (errors as unknown[]) : [])];
  return linked.some((next) => next !== error && isDatabaseUnavailable(next, depth + 1));
}
