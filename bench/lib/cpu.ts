// CPU time of processes, read from /proc (Linux): what a request costs in CPU, whatever the
// machine's load does to its wall-clock latency. Used by `npm run bench:profile`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sql } from './util';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = ((): number => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one process (all its threads), in microseconds; undefined when it is gone. */
export function cpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]); // field 14 of the whole line
    const stime = Number(fields[12]); // field 15
    return ((utime + stime) / TICKS_PER_SECOND) * 1e6;
  } catch {
    return undefined;
  }
}

/** CPU per process id, in microseconds. */
export type CpuSnapshot = Map<number, number>;

export function snapshot(pids: readonly number[]): CpuSnapshot {
  const taken: CpuSnapshot = new Map();
  for (const pid of pids) {
    const micros = cpuMicros(pid);
    if (micros !== undefined) taken.set(pid, micros);
  }
  return taken;
}

/** CPU spent between two snapshots; a process that appeared in between counts from zero. */
export function spent(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0);
  return total;
}

/**
 * The PostgreSQL backends connected to `database` (the server's pools), read through `adminUrl`;
 * empty when the database server runs elsewhere (its /proc is not this machine's).
 */
export async function backendPids(adminUrl: string, database: string): Promise<number[]> {
  const { rows } = await sql(adminUrl, 'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  return rows.map((row) => Number(row['pid'])).filter((pid) => cpuMicros(pid) !== undefined);
}
