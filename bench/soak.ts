// `npm run soak`: two instances of the real server (src/main.ts, separate processes, NODE_ENV=production)
// on one fresh PostgreSQL database and one Redis, under a mixed workload sent to them in turn, as a
// round-robin load balancer would. Reports throughput, latency, errors and each instance's memory
// over time, writes the report to bench/SOAK.md, and exits 1 on any error or when memory grows.
//
//   SOAK_SECONDS      length of the measured load (default 60; CI runs 20)
//   SOAK_WARMUP_SECONDS  load before that, not measured nor judged for memory, errors still count (default 30)
//   SOAK_VUS          virtual users, each running journeys back to back (default 8)
//   SOAK_BCRYPT_COST  the servers' BCRYPT_COST (default 10, the production minimum)
//   SOAK_REPORT       where the report goes (default bench/SOAK.md)
//   DATABASE_URL      the PostgreSQL server the soak creates (and drops) its own database on
//                     (default postgres://postgres@127.0.0.1:5432/postgres)
//   REDIS_URL         the Redis the instances count rate limits in (default redis://127.0.0.1:6379),
//                     under a key prefix of their own, deleted at the end
//
// Whatever fails (an exception nobody caught included, see bench/lib/fatal.ts), the run ends with
// a readable message on stderr and the same clean-up: instances stopped, database dropped, Redis
// keys deleted.
//
// This file only wires the parts in bench/soak/: config (the settings above), services (database
// and Redis), instances (the servers), workload (the virtual users), schedule (warm-up, measured
// load, sampling), memory (samples and the memory verdict), results and report.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitCleanlyOnFatal, once } from './lib/fatal';
import { fmt } from './lib/util';
import { DB_NAME, REDIS_KEY_PREFIX, RUN_ID, SECONDS, VUS } from './soak/config';
import { type Instance, startInstances, stopInstances } from './soak/instances';
import { MemorySampler } from './soak/memory';
import { progress } from './soak/progress';
import { writeReport } from './soak/report';
import { Results } from './soak/results';
import { runLoad } from './soak/schedule';
import { checkRedis, createDatabase, deleteRedisKeys, dropDatabase } from './soak/services';
import { Workload } from './soak/workload';

async function main(): Promise<number> {
  const interrupt = new AbortController();
  // A function, not a property read: the signal aborts while the awaits below are pending.
  const interrupted = (): boolean => interrupt.signal.aborted;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      progress(`${signal}: stopping the load and cleaning up (again to force; that may leave database ${DB_NAME})`);
      interrupt.abort();
    } else {
      progress(`forced exit: database ${DB_NAME} and Redis keys ${REDIS_KEY_PREFIX}* may remain`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const setupStarted = Date.now();
  const instances: Instance[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'auth-soak-'));
  let databaseCreated = false;
  const cleanUp = once(async () => {
    interrupt.abort(); // a fatal error mid-load: the virtual users stop too
    await stopInstances(instances);
    rmSync(dataDir, { recursive: true, force: true });
    const done = [`${String(instances.length)} instances stopped`];
    if (databaseCreated) {
      try {
        await dropDatabase();
        done.push(`database ${DB_NAME} dropped`);
      } catch (error) {
        progress(`could not drop database ${DB_NAME}: ${(error as Error).message}`);
      }
    }
    try {
      await deleteRedisKeys();
      done.push(`Redis keys ${REDIS_KEY_PREFIX}* deleted`);
    } catch (error) {
      progress(`could not delete Redis keys ${REDIS_KEY_PREFIX}*: ${(error as Error).message}`);
    }
    progress(`cleaned up: ${done.join(', ')}`);
  });
  exitCleanlyOnFatal('soak', cleanUp);
  const results = new Results();
  try {
    await checkRedis();
    const databaseUrl = await createDatabase();
    databaseCreated = true;
    progress(`soak ${RUN_ID}: database ${DB_NAME}, Redis prefix ${REDIS_KEY_PREFIX}, ${String(SECONDS)} s, ${String(VUS)} virtual users`);
    await startInstances(databaseUrl, dataDir, results, instances);
    if (interrupted()) return 130;

    const workload = new Workload(instances, results, interrupt.signal);
    await workload.loginAdmin();
    results.latency.login.reset();
    results.done = 0;
    const setupSeconds = (Date.now() - setupStarted) / 1000;
    progress(`both instances ready after ${fmt(setupSeconds, 1)} s; load running`);
    const memory = new MemorySampler(instances, dataDir);
    const elapsed = await runLoad({ instances, workload, results, memory, interrupted: interrupt.signal });
    if (interrupted()) {
      progress('interrupted: no report written');
      return 130;
    }
    // Let a last log line (an error logged after its response) arrive before judging.
    await new Promise((resolve) => setTimeout(resolve, 200));
    progress('');
    return writeReport({ instances, results, memory, elapsed, setupSeconds }) ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
