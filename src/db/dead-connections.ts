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
  const checkedOut = new Set<PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_error, client) => checkedOut.delete(client));
  pool.on('connect', (client) => {
    client.once('end', () => {
      if (!checkedOut.has(client)) return;
      const release = client.release.bind(client);
      client.release = () => undefined;
      release(new Error('the database connection ended while in use'));
    });
  });
}
