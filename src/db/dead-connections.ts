import type { Pool, PoolClient } from 'pg';

/**
 * Gives a client back to the pool, as broken, when its connection ends while it is checked out.
 *
 * Kysely (under MikroORM) returns a transaction's connection to the pool only after its BEGIN,
 * COMMIT or ROLLBACK succeeds (kysely-org/kysely#1990). When the server goes away in the middle
 * of a transaction the ROLLBACK fails too, so the dead client stays checked out for ever: each
 * such failure takes one of the pool's connections for good, after `max` of them every request
 * waits for a connection that never comes (even once the database is back), and closing the
 * pool hangs. A client released with an error is dropped by pg-pool; the holder's own release,
 * if it ever comes, becomes a no-op.
 */
export function releaseDeadClients(pool: Pool): void {
  // A flag per client, not a Set of the clients checked out: adding and deleting on every query
  // would make the Set rehash into new tables in the old generation, garbage for full collections.
  const state = new WeakMap<PoolClient, { checkedOut: boolean }>();
  const of = (client: PoolClient): { checkedOut: boolean } => {
    let found = state.get(client);
    if (!found) {
      found = { checkedOut: false };
      state.set(client, found);
    }
    return found;
  };
  pool.on('acquire', (client) => {
    of(client).checkedOut = true;
  });
  pool.on('release', (_error, client) => {
    of(client).checkedOut = false;
  });
  pool.on('connect', (client) => {
    client.once('end', () => {
      if (!of(client).checkedOut) return;
      const release = client.release.bind(client);
      client.release = () => undefined;
      release(new Error('the database connection ended while in use'));
    });
  });
}

/** pg's answer when a query passed the client-side deadline (`query_timeout`). */
export const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * Ends a connection whose query passed pg's client-side deadline (`query_timeout`). pg answers
 * such a query with "Query read timeout" but keeps the connection, whose server may still be
 * running the query, or frozen: the pool would hand it out again and the next query would wait
 * behind the old one. `end()` with a query outstanding destroys the socket; a client released
 * after that leaves the pool, and releaseDeadClients releases one still checked out.
 */
export function discardTimedOutClients(pool: Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const guarded = (...args: unknown[]): unknown => {
      const result = query(...args);
      if (isThenable(result)) {
        // A handler beside the caller's own, attached first, so the connection is gone before
        // the caller (a transaction about to roll back) uses it again.
        result.then(undefined, (error: unknown) => {
          if (error instanceof Object && (error as { message?: unknown }).message === QUERY_READ_TIMEOUT) {
            void client.end().catch(() => undefined);
          }
        });
      }
      return result;
    };
    Object.assign(client, { query: guarded });
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
