// The servers under test: two instances of src/main.ts (NODE_ENV=production) with the memory
// probe preloaded, their warn-and-above log lines watched, and a bounded stop.
import path from 'node:path';
import { ROOT, startServer, type Server } from '../lib/processes';
import { productionEnv } from '../lib/production-env';
import { ADMIN_EMAIL, ADMIN_PASSWORD, BCRYPT_COST, REDIS_KEY_PREFIX, REDIS_URL, STOP_GRACE_MS } from './config';
import { progress } from './progress';
import { type Results } from './results';

export const INSTANCE_NAMES = ['A', 'B'] as const;

// Rate limits raised far above the soak's own traffic (all from 127.0.0.1), still counted in Redis.
// login:account keeps its default (5 per 15 min): every account, the admin included, logs in once.
const RATE_LIMITS = 'login:ip=1000000/1m,signup:ip=1000000/1m,refreshToken:ip=1000000/1m';

export interface Instance {
  readonly name: string;
  readonly server: Server;
  requests: number;
  /** Server log lines at warn level or above: count and the first few. */
  warnings: number;
  serverErrors: number;
  readonly logExamples: string[];
}

/** The instances' environment: one database, one Redis prefix, the bootstrap admin the soak logs in as. */
function instanceEnv(databaseUrl: string, dataDir: string): Record<string, string> {
  return productionEnv(
    { dataDir, databaseUrl, bcryptCost: BCRYPT_COST },
    {
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      REDIS_URL,
      REDIS_KEY_PREFIX,
      RATE_LIMITS,
      BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SOAK_MEMORY_PROBE_DIR: dataDir,
    },
  );
}

/**
 * Starts the instances together, as a deployment does (the migration lock makes one wait for the
 * other), and adds each one that became ready to `instances`, so that the caller stops it even
 * when the other failed; then throws the first failure. `dataDir` also receives the memory
 * probe's files.
 */
export async function startInstances(databaseUrl: string, dataDir: string, results: Results, instances: Instance[]): Promise<void> {
  const env = instanceEnv(databaseUrl, dataDir);
  const started = await Promise.allSettled(
    INSTANCE_NAMES.map((name) =>
      startServer(`instance ${name}`, 'src/main.ts', env, ['-r', path.join(ROOT, 'bench', 'lib', 'memory-probe.js')], {
        onStdout: logWatcher(() => instances.find((i) => i.name === name), results),
      }),
    ),
  );
  started.forEach((result, k) => {
    const name = INSTANCE_NAMES[k];
    if (result.status === 'fulfilled' && name !== undefined) {
      instances.push({ name, server: result.value, requests: 0, warnings: 0, serverErrors: 0, logExamples: [] });
    }
  });
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Keeps warn-and-above log lines (pino JSON) of an instance; errors count as failures. Lines from
 * before the instance is ready (`instance()` still undefined) are not judged.
 */
function logWatcher(instance: () => Instance | undefined, results: Results): (text: string) => void {
  let partial = '';
  return (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let record: { level?: number; msg?: string; err?: { message?: string } } | null;
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      // A line of valid JSON that is no log record (`null`, a number): not judged, and no TypeError
      // thrown from inside the stream's 'data' event.
      if (typeof record !== 'object' || record === null) continue;
      const target = instance();
      const level = record.level ?? 0;
      if (!target || level < 40) continue;
      if (level >= 50) {
        target.serverErrors++;
        results.fail(`instance ${target.name} logged an error`, `${String(record.msg)}: ${record.err?.message ?? ''}`);
      } else target.warnings++;
      if (target.logExamples.length < 5) target.logExamples.push(`${record.msg ?? ''} ${record.err?.message ?? ''}`.trim());
    }
  };
}

/** SIGTERM, then SIGKILL if the process has not exited within STOP_GRACE_MS. */
async function stopBounded(server: Server): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<true>((resolve) => {
    timer = setTimeout(() => {
      resolve(true);
    }, STOP_GRACE_MS);
  });
  const late = await Promise.race([server.stop().then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    progress(`${server.name} did not stop within ${String(STOP_GRACE_MS / 1000)} s: killed`);
    server.child.kill('SIGKILL');
  }
}

export async function stopInstances(instances: readonly Instance[]): Promise<void> {
  await Promise.all(instances.map((i) => stopBounded(i.server)));
}
