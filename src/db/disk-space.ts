import { statfsSync } from 'node:fs';

/**
 * Below this much free space under DATA_DIR the embedded database is not ready: a relation that
 * grows needs pages now, and PostgreSQL needs room for a new WAL segment (16 MiB in PGlite) when
 * its current one fills; without it, writes fail (SQLSTATE 53100) or the database stops.
 */
export const MIN_FREE_BYTES = 1024 * 1024;

/** True when the filesystem holding `dir` has less than MIN_FREE_BYTES available to this user. */
export function diskFull(dir: string): boolean {
  const stats = statfsSync(dir, { bigint: true });
  return stats.bavail * stats.bsize < BigInt(MIN_FREE_BYTES);
}
