// `npm run bench:heap`: what holds the server's memory. Starts the project server (NODE_ENV=production,
// default rate limits counted in process) with bench/lib/memory-probe.js preloaded and
// BENCH_HEAP_SNAPSHOT=true, runs load against it (signups, logins, `me`, `users` pages with
// searches, refreshes), asks for a full GC and a heap snapshot (SIGUSR2: no endpoint, no switch in
// src/), and prints the heap by constructor and its largest retainers, with process.memoryUsage().
//
//   HEAP_SECONDS   length of the `me` load (default 20)
//   HEAP_ACCOUNTS  accounts that sign up, log in and refresh (default 200)
//   HEAP_DOCUMENTS distinct query documents sent once each (default 2,000): what Apollo's parsed
//                  document cache keeps (an LRU bounded by 30 MiB of the documents' JSON size)
//   HEAP_KEEP      a directory to keep the .heapsnapshot in (to open in Chrome DevTools' Memory tab)
//   BENCH_SERVER   `source`: bench/servers/project.ts through @swc-node/register instead of the
//                  compiled server (src/ built into bench/.tmp/dist, as `npm start` runs it)
//   DATABASE_URL   the PostgreSQL server (a fresh database, dropped after)
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitCleanlyOnFatal, once } from './lib/fatal';
import { postGraphQL, signup } from './lib/graphql-client';
import { summariseHeapSnapshot } from './lib/heap-snapshot';
import { load } from './lib/load';
import { forcedGc, MEMORY_PROBE, PeakRss } from './lib/memory';
import { compiledServer, startServer, type Server } from './lib/processes';
import { fmt, sql } from './lib/util';
import { productionEnv } from './lib/production-env';

const SECONDS = Number(process.env['HEAP_SECONDS'] ?? 20);
const ACCOUNTS = Number(process.env['HEAP_ACCOUNTS'] ?? 200);
const DOCUMENTS = Number(process.env['HEAP_DOCUMENTS'] ?? 2000);
const KEEP = process.env['HEAP_KEEP'];
const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'heap password 4711';
const MIB = 2 ** 20;

/** Text for a markdown table cell. */
function cell(text: string): string {
  return text.replace(/[|`\\]/g, (c) => `\\${c}`);
}

async function main(): Promise<void> {
  const fromSource = process.env['BENCH_SERVER'] === 'source';
  const entry = fromSource ? 'bench/servers/project.ts' : compiledServer();
  const dbName = `bench_heap_${String(Date.now())}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'auth-heap-'));
  let server: Server | undefined;
  const cleanUp = once(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await sql(SERVER_URL, `drop database if exists "${dbName}" with (force)`);
  });
  exitCleanlyOnFatal('bench:heap', cleanUp);
  try {
    await sql(SERVER_URL, `create database "${dbName}"`);
    const url = new URL(SERVER_URL);
    url.pathname = `/${dbName}`;
    const adminPassword = randomBytes(18).toString('base64url');
    server = await startServer(
      'project',
      entry,
      productionEnv(
        { dataDir, databaseUrl: url.toString(), bcryptCost: 10 },
        {
          // Rate limits as shipped, raised per address only: all the load comes from 127.0.0.1.
          RATE_LIMITS: 'login:ip=1000000/1m,signup:ip=1000000/1m,refreshToken:ip=1000000/1m',
          BOOTSTRAP_ADMIN_EMAIL: 'heap-admin@example.com',
          BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
          BENCH_MEMORY_PROBE_DIR: dataDir,
          BENCH_HEAP_SNAPSHOT: 'true',
        },
      ),
      ['-r', MEMORY_PROBE],
    );
    const running = server;
    const peak = new PeakRss(running);
    process.stdout.write(`server ready; ${String(ACCOUNTS)} accounts sign up, log in and refresh\n`);

    // Accounts through the API, 4 at a time: signup, login, refresh, a failed login of an unknown email.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < ACCOUNTS) {
          const k = next++;
          const email = `heap-${String(k)}@example.com`;
          const { refreshToken } = await signup(running.url, { email, password: PASSWORD, name: `Heap ${String(k)}` });
          await postGraphQL(running.url, 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }', {
            variables: { i: { email, password: PASSWORD } },
            timeoutMs: 30_000,
          });
          await postGraphQL(running.url, 'mutation ($t: String) { refreshToken(token: $t) { accessToken } }', {
            variables: { t: refreshToken },
            timeoutMs: 30_000,
          });
          await postGraphQL(running.url, 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }', {
            variables: { i: { email: `nobody-${String(k)}@example.com`, password: PASSWORD } },
            timeoutMs: 30_000,
          });
        }
      }),
    );
    const { accessToken: token } = await signup(running.url, { email: 'heap-me@example.com', password: PASSWORD, name: 'Heap' });
    const admin = await postGraphQL(running.url, 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }', {
      variables: { i: { email: 'heap-admin@example.com', password: adminPassword } },
      timeoutMs: 30_000,
    });
    const adminToken = (admin.body?.data as { login?: { accessToken?: string } } | undefined)?.login?.accessToken;
    if (!adminToken) throw new Error(`the bootstrap admin cannot log in: ${admin.text.slice(0, 300)}`);
    for (let k = 0; k < 50; k++) {
      await postGraphQL(running.url, 'query ($s: String) { users(first: 20, search: $s) { totalCount edges { node { id } } } }', {
        variables: { s: `heap-${String(k)}` },
        token: adminToken,
        timeoutMs: 30_000,
      });
    }

    // Distinct documents, as many clients (or one client varying its queries) send them.
    process.stdout.write(`${String(DOCUMENTS)} distinct query documents\n`);
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < DOCUMENTS) {
          const k = sent++;
          await postGraphQL(
            running.url,
            `query Distinct${String(k)} { me { id name role createdAt } authConfig { passwordMinLength totpEnabled passkeysEnabled } }`,
            { token, timeoutMs: 30_000 },
          );
        }
      }),
    );

    process.stdout.write(`\`me\` load for ${String(SECONDS)} s\n`);
    const result = await load({
      url: `${running.url}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id email name role } }' }),
      connections: 50,
      seconds: SECONDS,
    });
    process.stdout.write('full GC and heap snapshot (the server stops for a few seconds)\n');
    const peakMiB = peak.stop(); // before the snapshot, whose writing takes memory of its own
    const report = await forcedGc(running, dataDir, 180_000);
    const usage = report.usageAfterForcedGc;
    if (!usage) throw new Error('the memory probe reported no memory usage after its GC');
    if (!report.snapshot) throw new Error('the memory probe wrote no heap snapshot (BENCH_HEAP_SNAPSHOT not seen?)');
    if (KEEP) {
      mkdirSync(KEEP, { recursive: true });
      copyFileSync(report.snapshot, path.join(KEEP, path.basename(report.snapshot)));
    }
    const summary = summariseHeapSnapshot(report.snapshot);
    const lines = [
      `# What holds the server's memory`,
      '',
      `${new Date().toISOString()} · Node ${process.version} · ${fromSource ? 'from TypeScript source (@swc-node/register)' : 'compiled, as `npm start` runs it'} · after ${String(ACCOUNTS)} accounts (signup, login, refresh, a failed login each), 50 \`users\` searches, ${String(DOCUMENTS)} distinct query documents and ${String(SECONDS)} s of \`me\` (${fmt(result.requestsPerSecond)} requests/s)`,
      '',
      `| measure | MiB |`,
      `| --- | ---: |`,
      `| peak RSS through the load (VmHWM) | ${fmt(peakMiB, 1)} |`,
      `| RSS after the full GC | ${fmt(usage.rss / MIB, 1)} |`,
      `| V8 heap in use after the full GC (live) | ${fmt(usage.heapUsed / MIB, 1)} |`,
      `| V8 heap allocated (heapTotal) | ${fmt(usage.heapTotal / MIB, 1)} |`,
      `| outside the main V8 heap (RSS - heapTotal: code, native, worker threads, allocator) | ${fmt((usage.rss - usage.heapTotal) / MIB, 1)} |`,
      `| external (Buffers, ArrayBuffers, WASM memory) | ${fmt(usage.external / MIB, 1)} |`,
      '',
      `Heap snapshot: ${fmt(summary.nodeCount)} reachable objects, ${fmt(summary.totalBytes / MIB, 1)} MiB.`,
      '',
      '## By constructor (largest self size first)',
      '',
      '| constructor | count | self MiB | retained MiB (outermost instances) |',
      '| --- | ---: | ---: | ---: |',
      ...summary.byConstructor.map(
        (row) => `| ${row.name} | ${fmt(row.count)} | ${fmt(row.selfBytes / MIB, 2)} | ${fmt(row.retainedBytes / MIB, 2)} |`,
      ),
      '',
      '## Largest retainers (what keeps them alive: their dominators, nearest first)',
      '',
      '| object | retained MiB | held by |',
      '| --- | ---: | --- |',
      ...summary.largest.map((row) => `| ${cell(row.name)} | ${fmt(row.retainedBytes / MIB, 2)} | ${cell(row.heldBy.join(' ← '))} |`),
      '',
      '## Largest strings',
      '',
      '| starts with | KiB | held by |',
      '| --- | ---: | --- |',
      ...summary.largestStrings.map((row) => `| ${cell(row.start)} | ${fmt(row.bytes / 1024, 1)} | ${cell(row.heldBy.join(' ← '))} |`),
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:heap failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
