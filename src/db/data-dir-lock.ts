import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The embedded database under DATA_DIR is open in another process (or already in this one). */
export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by process ${String(pid)} (its embedded database is open there; ` +
        `${path.join(dataDir, PID_FILE)} says so): one process at a time may open it`,
    );
    this.name = 'DataDirInUse';
  }
}

export interface DataDirLock {
  /** Removes the pid file if it is still this lock's. Idempotent. */
  release(): void;
}

const PID_FILE = 'pglite.pid';

/**
 * When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat): with the pid,
 * it names one process, so a pid reused by another process after a crash does not hold the lock.
 * `undefined`: no such process. Without /proc (not Linux), `0` for any live process.
 */
function startTimeOf(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || process.platform === 'linux') return undefined;
    try {
      process.kill(pid, 0);
      return '0';
    } catch (killError) {
      return (killError as NodeJS.ErrnoException).code === 'EPERM' ? '0' : undefined;
    }
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3];
}

function holderOf(file: string): { pid: number; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [pidLine, startLine] = text.split('\n');
  const pid = Number(pidLine);
  // A file cut short by a crash while it was written holds no live claim.
  if (!Number.isSafeInteger(pid) || pid <= 0 || !startLine) return undefined;
  return { pid, startTime: startLine.trim() };
}

/**
 * Takes DATA_DIR for this process, the way PostgreSQL's postmaster.pid does: DATA_DIR/pglite.pid,
 * created exclusively (O_EXCL, mode 0600), holds the pid and start time of its owner. A file whose
 * process is gone, or whose pid now belongs to a process started at another time, is stale and is
 * taken over; a live owner makes this throw DataDirInUse. PGlite itself locks nothing: two processes
 * on one directory would each replay and overwrite the other's WAL.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, PID_FILE);
  const ownStart = startTimeOf(process.pid) ?? '0';
  const content = `${String(process.pid)}\n${ownStart}\n`;
  for (let attempt = 0; ; attempt += 1) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      const holder = holderOf(file);
      if (holder && startTimeOf(holder.pid) === holder.startTime) throw new DataDirInUse(dataDir, holder.pid);
      // Stale: its process is gone. Remove it and try again (another starter may win the retry).
      try {
        unlinkSync(file);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
      }
      continue;
    }
    try {
      writeSync(fd, content);
    } catch (error) {
      closeSync(fd);
      unlinkSync(file);
      throw error;
    }
    closeSync(fd);
    break;
  }

  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    try {
      // Only our own claim: never a file another process wrote after taking a stale one over.
      if (readFileSync(file, 'utf8') === content) unlinkSync(file);
    } catch {
      // Already gone (DATA_DIR removed): nothing to release.
    }
  };
  // A process that exits without closing the database (process.exit on a failed start) leaves no claim.
  process.on('exit', release);
  return { release };
}
