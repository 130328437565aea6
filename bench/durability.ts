// `npm run bench:durability`: what the fsync of each commit costs on the embedded database. One-row
// commits per second on the database alone, then signups per second against the real server on a fresh DATA_DIR, with EMBEDDED_DATABASE_FSYNC=true (the
// default: the WAL is fsynced before a commit is acknowledged) and false (PGlite's own behaviour: no
// fsync ever), in interleaved rounds; BENCH_SECONDS per round (default 10), BENCH_ROUNDS (default 3),
// at 1 and at 8 concurrent clients. bcrypt cost 4, so hashing does not hide the database's share.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { signup } from './lib/graphql-client';
import { startServer } from './lib/processes';
import { fmt, median } from './lib/util';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const CLIENTS = [1, 8];

async function signupsPerSecond(fsync: boolean, clients: number): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-durability-'));
  const server = await startServer(`fsync=${String(fsync)}`, 'src/main.ts', {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    DATABASE_URL: '',
    JWT_ACCESS_SECRET: randomBytes(48).toString('base64url'),
    JWT_REFRESH_SECRET: randomBytes(48).toString('base64url'),
    BCRYPT_COST: '4',
    RATE_LIMITS: 'off',
    EMBEDDED_DATABASE_FSYNC: String(fsync),
  });
  try {
    let done = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let i = 0; performance.now() < deadline; i += 1) {
          await signup(server.url, {
            email: `bench-${String(client)}-${String(i)}-${randomBytes(3).toString('hex')}@example.com`,
            password: 'bench password 4711',
            name: 'Bench',
          });
          done += 1;
        }
      }),
    );
    return done / ((performance.now() - started) / 1000);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One-row insert transactions per second on the embedded database itself: no HTTP, no bcrypt. */
async function commitsPerSecond(fsync: boolean): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-durability-'));
  const orm = await openDatabase({ dataDir, databaseUrl: undefined, embeddedFsync: fsync }, createLogger({ logLevel: 'silent' }));
  try {
    const connection = orm.em.getConnection();
    await connection.execute('create table bench_commit (id serial primary key, value text not null)');
    let done = 0;
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    while (performance.now() < deadline) {
      await orm.em.transactional(async (em) => {
        await em.getConnection().execute('insert into bench_commit (value) values (?)', [String(done)], 'run', em.getTransactionContext());
      });
      done += 1;
    }
    return done / ((performance.now() - started) / 1000);
  } finally {
    await orm.close(true);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(
    `the embedded database, medians of ${String(ROUNDS)} interleaved rounds of ${String(SECONDS)} s, ${String(os.cpus().length)} cores, Node ${process.version}\n\n`,
  );
  process.stdout.write('| measure | fsync on (default) | fsync off | cost |\n| --- | --- | --- | --- |\n');
  {
    const on: number[] = [];
    const off: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      on.push(await commitsPerSecond(true));
      off.push(await commitsPerSecond(false));
    }
    const [synced, unsynced] = [median(on), median(off)];
    process.stdout.write(
      `| one-row commits/s, the database alone | ${fmt(synced, 1)} | ${fmt(unsynced, 1)} | ${fmt((1 - synced / unsynced) * 100)}% fewer |\n`,
    );
  }
  for (const clients of CLIENTS) {
    const on: number[] = [];
    const off: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      on.push(await signupsPerSecond(true, clients));
      off.push(await signupsPerSecond(false, clients));
    }
    const [synced, unsynced] = [median(on), median(off)];
    process.stdout.write(
      `| signups/s, ${String(clients)} client(s) over HTTP | ${fmt(synced, 1)} | ${fmt(unsynced, 1)} | ${fmt((1 - synced / unsynced) * 100)}% fewer |\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
