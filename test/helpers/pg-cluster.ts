import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/**
 * A private PostgreSQL cluster for tests that take the database away (outages): initdb into a
 * temporary directory, served on a free port of 127.0.0.1 with trust authentication, stopped
 * and started again at will, removed at the end. The shared server is never touched.
 *
 * PostgreSQL refuses to run as root, so as root every binary runs as the `postgres` OS user.
 */
const BIN_DIR = process.env['PG_BIN'] ?? newestDebianBinDir();

/** Debian's layout: /usr/lib/postgresql/<major>/bin; the newest installed major version. */
function newestDebianBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root).filter((name) => /^\d+$/.test(name) && existsSync(path.join(root, name, 'bin', 'initdb')))
    : [];
  majors.sort((a, b) => Number(b) - Number(a));
  return path.join(root, majors[0] ?? '15', 'bin');
}
const OS_USER = 'postgres';
const COMMAND_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;

/**
 * Settings for a throwaway cluster: no fsync (safe against a server crash, not an OS crash), little
 * memory, TCP on loopback only. synchronous_commit stays on: an immediate stop must not lose commits.
 */
const SERVER_SETTINGS = ['fsync=off', 'full_page_writes=off', 'shared_buffers=16MB', 'max_connections=30', 'listen_addresses=127.0.0.1'];

export interface PgCluster {
  readonly port: number;
  /** Connection URL of the cluster's `postgres` database, as user `postgres`. */
  readonly url: string;
  /** Connection URL of another database of this cluster. */
  urlOf(database: string): string;
  /** Starts the server on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /**
   * Stops the server. `immediate` is a crash (sockets just close); `fast` is an orderly
   * shutdown (sessions get "terminating connection due to administrator command").
   */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /**
   * Freezes the server as a hung host would: SIGSTOP to the postmaster, then to every process it
   * started (backends, checkpointer, ...). Connections stay open, and nothing answers.
   */
  freeze(): Promise<void>;
  /** Undoes freeze(): SIGCONT to the same processes. */
  thaw(): Promise<void>;
  /** True when the server accepts connections now. */
  accepting(): Promise<boolean>;
  /** Runs one SQL statement on a database of the cluster, over a connection of its own. */
  query<Row = Record<string, unknown>>(sql: string, database?: string): Promise<Row[]>;
  /** Stops the server if it runs and removes every file; safe to call twice or after a failed start. */
  destroy(): Promise<void>;
}

const AS_OS_USER = userInfo().uid === 0 ? ['runuser', '-u', OS_USER, '--'] : [];

function run(file: string, args: readonly string[]): Promise<string> {
  const [runner, ...runnerArgs] = AS_OS_USER;
  const [command, argv]: [string, readonly string[]] = runner === undefined ? [file, args] : [runner, [...runnerArgs, file, ...args]];
  return new Promise((resolve, reject) => {
    execFile(command, argv, { timeout: COMMAND_TIMEOUT_MS, cwd: tmpdir() }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function pgBin(name: string): string {
  const file = path.join(BIN_DIR, name);
  if (!existsSync(file))
    throw new Error(`${file} not found: install the PostgreSQL server (initdb, pg_ctl) or set PG_BIN to its bin directory`);
  return file;
}

/** A port nothing listens on right now: the kernel picks it, then it is released for PostgreSQL. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function osUserIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('/usr/bin/id', ['-u']), run('/usr/bin/id', ['-g'])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * A detached shell that waits for this process to end, then stops the cluster and removes its
 * files: a test process killed before its `afterAll` (a CI timeout, Ctrl-C) leaves no server
 * behind. `destroy()` ends the watchdog itself.
 */
function watchdog(dataDir: string, root: string): number | undefined {
  const script = `while [ -d "/proc/$1" ]; do sleep 1; done
if [ -f "$2/postmaster.pid" ]; then ${AS_OS_USER.join(' ')} "$3" stop -D "$2" -m immediate -w -t 30; fi
rm -rf "$4"`;
  const child = spawn('sh', ['-c', script, 'pg-cluster-watchdog', String(process.pid), dataDir, pgBin('pg_ctl'), root], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid;
}

/** Creates and starts a private cluster. Call `destroy()` in `afterAll`, whatever happened. */
export async function createPgCluster(): Promise<PgCluster> {
  const root = mkdtempSync(path.join(tmpdir(), 'auth-api-pg-'));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'server.log');
  if (userInfo().uid === 0) {
    const { uid, gid } = await osUserIds();
    chownSync(root, uid, gid);
  }
  const port = await freePort();
  const watchdogPid = watchdog(dataDir, root);
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${String(port)}/${database}`;

  const accepting = async (): Promise<boolean> => {
    const client = new Client({ connectionString: urlOf('postgres'), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const start = async (): Promise<void> => {
    const options = ['-p', String(port), '-k', root, ...SERVER_SETTINGS.flatMap((setting) => ['-c', setting])].join(' ');
    await run(pgBin('pg_ctl'), ['start', '-D', dataDir, '-l', logFile, '-w', '-t', String(READY_TIMEOUT_MS / 1000), '-o', options]);
    // pg_ctl -w waits for the postmaster; wait for a real session over TCP too, with a deadline.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await accepting())) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL on port ${String(port)} did not accept connections:\n${serverLog()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const running = (): boolean => existsSync(path.join(dataDir, 'postmaster.pid'));

  const stop = async (mode: 'immediate' | 'fast' = 'immediate'): Promise<void> => {
    await run(pgBin('pg_ctl'), ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '30']);
  };

  /** The postmaster (from its pid file) and its children, postmaster first. */
  const serverProcesses = async (): Promise<number[]> => {
    const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(postmaster) || postmaster <= 0) throw new Error('no postmaster pid in postmaster.pid');
    const children = await new Promise<string>((resolve, reject) => {
      execFile('pgrep', ['-P', String(postmaster)], (error, stdout) => {
        // pgrep exits 1 when it finds nothing: a postmaster without children.
        if (error && error.code !== 1) reject(new Error(`pgrep -P ${String(postmaster)} failed: ${error.message}`));
        else resolve(stdout);
      });
    });
    return [postmaster, ...children.split('\n').filter(Boolean).map(Number)];
  };

  /** The processes freeze() stopped, for thaw() (and destroy()) to continue. */
  let frozen: number[] = [];
  const freeze = async (): Promise<void> => {
    frozen = await serverProcesses();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  };
  const thaw = (): Promise<void> => {
    const stopped = frozen;
    frozen = [];
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    return Promise.resolve();
  };

  const serverLog = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '(no server log)');

  const query = async <Row>(sql: string, database = 'postgres'): Promise<Row[]> => {
    const client = new Client({ connectionString: urlOf(database), connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Row[];
    } finally {
      await client.end();
    }
  };

  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    try {
      await thaw(); // a frozen postmaster would not act on pg_ctl stop
      if (running()) await stop('immediate');
    } finally {
      // A postmaster pid file that survived a failed stop names a process to end by its id.
      const pidFile = path.join(dataDir, 'postmaster.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (Number.isInteger(pid) && pid > 0) {
          try {
            process.kill(pid, 'SIGQUIT');
          } catch {
            // already gone
          }
        }
      }
      rmSync(root, { recursive: true, force: true });
      if (watchdogPid !== undefined) {
        try {
          process.kill(watchdogPid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  };

  try {
    await run(pgBin('initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await start();
  } catch (error) {
    const log = serverLog();
    await destroy().catch(() => undefined);
    throw new Error(`could not start a private PostgreSQL cluster: ${(error as Error).message}\n${log}`, { cause: error });
  }

  return { port, url: urlOf('postgres'), urlOf, start, stop, freeze, thaw, accepting, query, destroy };
}
