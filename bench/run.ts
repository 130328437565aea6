// `npm run bench`: the project against the REST baseline on one PostgreSQL, load from autocannon
// in separate processes, results printed and written to bench/RESULTS.md. Both servers carry the
// memory probe (bench/lib/memory-probe.js): their peak RSS is sampled through sections 1-4, their
// live heap read after a full GC at the end; the last section sets the figures against the goals
// of issue 16.
// BENCH_SECONDS (default 10) sets the length of each measured round; DATABASE_URL picks the server.
import 'reflect-metadata';
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newId } from '../src/db/uuid';
import { encodeCursor } from '../src/graphql/connection';
import { login, signup } from './lib/graphql-client';
import { load, type LoadResult } from './lib/load';
import { fillFigures } from './lib/doc-figures';
import { forcedGc, MEMORY_PROBE, PeakRss } from './lib/memory';
import { compiledServer, ROOT, startServer, type Server } from './lib/processes';
import { fmt, median, sql } from './lib/util';
import { productionEnv } from './lib/production-env';

// BENCH_ONLY=me runs only section 1 (for iterating on the hot path) and does not write RESULTS.md.
// The project runs as `npm start` does, compiled (src/ built into bench/.tmp/dist, then
// dist/main.js); BENCH_SERVER=source runs bench/servers/project.ts through @swc-node/register
// instead (no build; memory figures then include the TypeScript hook's).
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const CONNECTIONS = 50;
const BCRYPT_COST = 12;
const SEED_USERS = Number(process.env['BENCH_USERS'] ?? 100_000);
const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ACCESS_SECRET = randomBytes(48).toString('base64url');
const REFRESH_SECRET = randomBytes(48).toString('base64url');
const PASSWORD = 'bench password 4711';

const lines: string[] = [];
function out(line = ''): void {
  lines.push(line);
  process.stdout.write(`${line}\n`);
}

function projectEnv(databaseUrl: string | undefined, dataDir: string): Record<string, string> {
  return productionEnv({ dataDir, databaseUrl, bcryptCost: BCRYPT_COST, accessSecret: ACCESS_SECRET, refreshSecret: REFRESH_SECRET });
}

const ME_BODY = JSON.stringify({ query: '{ me { id email name role } }' });
function meLoad(server: Server, token: string, connections = CONNECTIONS): Promise<LoadResult> {
  return load({
    url: `${server.url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: ME_BODY,
    connections,
    seconds: SECONDS,
  });
}
function baselineMeLoad(server: Server, token: string, connections = CONNECTIONS): Promise<LoadResult> {
  return load({ url: `${server.url}/users/me`, headers: { authorization: `Bearer ${token}` }, connections, seconds: SECONDS });
}

function check(result: LoadResult, what: string): void {
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${what}: ${String(result.errors)} errors, ${String(result.non2xx)} non-2xx responses`);
  }
}

/** The heap sizing for containers that docs/performance.md#heap-sizing-in-containers recommends. */
const DEFAULT_HEAP_FLAGS = '--max-old-space-size=256 --max-semi-space-size=32';

async function main(): Promise<void> {
  const started = Date.now();
  const fromSource = process.env['BENCH_SERVER'] === 'source';
  const projectEntry = fromSource ? 'bench/servers/project.ts' : compiledServer();
  const dbName = `bench_${String(Date.now())}`;
  await sql(SERVER_URL, `create database "${dbName}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'auth-bench-'));
  const probeDir = mkdtempSync(path.join(os.tmpdir(), 'auth-bench-memory-'));
  // Both servers run with the heap sizing docs/performance.md recommends for containers
  // (BENCH_HEAP_FLAGS overrides it; empty: V8's defaults, sized from the machine's memory).
  const heapFlags = (process.env['BENCH_HEAP_FLAGS'] ?? DEFAULT_HEAP_FLAGS).split(/\s+/).filter(Boolean);
  const probed = { nodeArgs: [...heapFlags, '-r', MEMORY_PROBE], env: { BENCH_MEMORY_PROBE_DIR: probeDir } };
  const servers: Server[] = [];
  try {
    out(`# Benchmark results`);
    out();
    out(
      `${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} · ${String(os.availableParallelism())} cores · ${fmt(os.totalmem() / 2 ** 30)} GiB · Node ${process.version} · PostgreSQL server (\`DATABASE_URL\`)`,
    );
    out(
      `Each round: ${String(SECONDS)} s of autocannon, ${String(CONNECTIONS)} connections, from a separate process. bcrypt cost ${String(BCRYPT_COST)}. The project ${fromSource ? 'runs from its TypeScript source (BENCH_SERVER=source: memory figures include @swc-node/register)' : 'runs compiled, as `npm start` runs it'}; the baseline runs from TypeScript through @swc-node/register. Both servers run with ${heapFlags.length > 0 ? `\`${heapFlags.join(' ')}\`` : "V8's default heap sizing"} (\`BENCH_HEAP_FLAGS\`).`,
    );
    out();

    // The project and the REST baseline, one database.
    const project = await startServer('project', projectEntry, { ...projectEnv(databaseUrl, dataDir), ...probed.env }, probed.nodeArgs);
    servers.push(project);
    const baseline = await startServer(
      'baseline',
      'bench/servers/baseline.ts',
      { DATABASE_URL: databaseUrl, JWT_ACCESS_SECRET: ACCESS_SECRET, ...probed.env },
      probed.nodeArgs,
    );
    servers.push(baseline);
    const projectPeak = new PeakRss(project);
    const baselinePeak = new PeakRss(baseline);

    // Accounts: one through the API (the project's hash format), one for the baseline (plain bcrypt).
    const projectToken = (await signup(project.url, { email: 'bench@example.com', password: PASSWORD, name: 'Bench' })).accessToken;
    await sql(databaseUrl, `update users set role = 'ADMIN' where email = 'bench@example.com'`);
    const adminToken = (await login(project.url, { email: 'bench@example.com', password: PASSWORD })).accessToken;
    await sql(
      databaseUrl,
      `insert into users (id, email, name, password_hash, role, is_active, created_at, updated_at) values ($1, 'baseline@example.com', 'Baseline', $2, 'USER', true, now(), now())`,
      [newId(), bcrypt.hashSync(PASSWORD, BCRYPT_COST)],
    );
    const baselineLogin = await fetch(`${baseline.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'baseline@example.com', password: PASSWORD }),
    });
    const baselineToken = ((await baselineLogin.json()) as { accessToken: string }).accessToken;

    // Warm-up, not measured, at the measured concurrency: code that only runs when requests queue
    // (for a pooled database connection, say) is compiled before the first round too.
    await meLoad(project, projectToken);
    await baselineMeLoad(baseline, baselineToken);

    // 1. `me`: project vs baseline, interleaved A B A B.
    const rounds: Record<'project' | 'baseline', LoadResult[]> = { project: [], baseline: [] };
    for (let round = 0; round < ROUNDS; round++) {
      rounds.project.push(await meLoad(project, projectToken));
      rounds.baseline.push(await baselineMeLoad(baseline, baselineToken));
    }
    for (const [name, results] of Object.entries(rounds)) {
      for (const result of results) check(result, `me (${name})`);
    }
    const rps = (results: LoadResult[]): number => median(results.map((r) => r.requestsPerSecond));
    const p = (results: LoadResult[], key: 'p50' | 'p99'): number => median(results.map((r) => r[key]));
    out(`## 1. \`me\`: project vs REST baseline (median of ${String(ROUNDS)} interleaved rounds)`);
    out();
    out(`| server | requests/s | p50 ms | p99 ms | vs baseline |`);
    out(`| --- | ---: | ---: | ---: | ---: |`);
    const baseRps = rps(rounds.baseline);
    out(
      `| REST baseline (Express + jsonwebtoken + pg, \`GET /users/me\`) | ${fmt(baseRps)} | ${fmt(p(rounds.baseline, 'p50'))} | ${fmt(p(rounds.baseline, 'p99'))} | 1.00x |`,
    );
    out(
      `| project, immediate revocation (user + session, one query) | ${fmt(rps(rounds.project))} | ${fmt(p(rounds.project, 'p50'))} | ${fmt(p(rounds.project, 'p99'))} | ${fmt(rps(rounds.project) / baseRps, 2)}x |`,
    );
    out();
    out(
      `Rounds (req/s): project ${rounds.project.map((r) => fmt(r.requestsPerSecond)).join(', ')}; baseline ${rounds.baseline.map((r) => fmt(r.requestsPerSecond)).join(', ')}.`,
    );
    out();
    if (process.env['BENCH_ONLY'] === 'me') return; // quick iterations on the hot path; RESULTS.md untouched

    // 2. Logins/s against the physical limit: cores / time of one hash comparison at the same cost.
    const sampleHash = bcrypt.hashSync(PASSWORD, BCRYPT_COST);
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      bcrypt.compareSync(PASSWORD, sampleHash);
      timings.push(performance.now() - t);
    }
    const hashMs = median(timings);
    const physical = os.availableParallelism() / (hashMs / 1000);
    const loginBody = JSON.stringify({
      query: 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }',
      variables: { i: { email: 'bench@example.com', password: PASSWORD } },
    });
    const loginStorm = (seconds = SECONDS): Promise<LoadResult> =>
      load({
        url: `${project.url}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: loginBody,
        connections: 8,
        seconds,
      });
    const projectLogins = await loginStorm();
    check(projectLogins, 'login (project)');
    const baselineLogins = await load({
      url: `${baseline.url}/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'baseline@example.com', password: PASSWORD }),
      connections: 8,
      seconds: SECONDS,
    });
    check(baselineLogins, 'login (baseline)');
    out(`## 2. Logins/s vs the physical limit`);
    out();
    out(
      `One bcrypt comparison at cost ${String(BCRYPT_COST)} takes ${fmt(hashMs, 1)} ms here, so ${String(os.availableParallelism())} cores allow at most ${fmt(physical, 1)} logins/s.`,
    );
    out();
    out(`| server | logins/s | share of the limit | p50 ms | p99 ms |`);
    out(`| --- | ---: | ---: | ---: | ---: |`);
    out(
      `| project (worker pool) | ${fmt(projectLogins.requestsPerSecond, 1)} | ${fmt((projectLogins.requestsPerSecond / physical) * 100)}% | ${fmt(projectLogins.p50)} | ${fmt(projectLogins.p99)} |`,
    );
    out(
      `| REST baseline (main thread) | ${fmt(baselineLogins.requestsPerSecond, 1)} | ${fmt((baselineLogins.requestsPerSecond / physical) * 100)}% | ${fmt(baselineLogins.p50)} | ${fmt(baselineLogins.p99)} |`,
    );
    out();

    // 3. `me` latency while a login storm runs, vs idle (the event loop stays free).
    const idle = await meLoad(project, projectToken, 10);
    const [during] = await Promise.all([meLoad(project, projectToken, 10), loginStorm(SECONDS + 1)]);
    const baselineIdle = await baselineMeLoad(baseline, baselineToken, 10);
    const [baselineDuring] = await Promise.all([
      baselineMeLoad(baseline, baselineToken, 10),
      load({
        url: `${baseline.url}/login`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'baseline@example.com', password: PASSWORD }),
        connections: 8,
        seconds: SECONDS + 1,
      }),
    ]);
    out(`## 3. \`me\` p99 during a login storm (10 connections on \`me\`, 8 on login)`);
    out();
    out(`| server | idle p99 ms | storm p99 ms | ratio (goal <= 3x) |`);
    out(`| --- | ---: | ---: | ---: |`);
    out(`| project | ${fmt(idle.p99)} | ${fmt(during.p99)} | ${fmt(during.p99 / Math.max(idle.p99, 1), 1)}x |`);
    out(
      `| REST baseline | ${fmt(baselineIdle.p99)} | ${fmt(baselineDuring.p99)} | ${fmt(baselineDuring.p99 / Math.max(baselineIdle.p99, 1), 1)}x |`,
    );
    out();

    // 4. `users`: first page vs a page 99 000 rows deep on 100 000 users.
    const seedStarted = Date.now();
    const batch = 10_000;
    for (let offset = 0; offset < SEED_USERS; offset += batch) {
      const ids: string[] = [];
      const emails: string[] = [];
      const names: string[] = [];
      for (let i = offset; i < Math.min(offset + batch, SEED_USERS); i++) {
        ids.push(newId());
        emails.push(`seed-${String(i)}@example.com`);
        names.push(`Seed User ${String(i)}`);
      }
      await sql(
        databaseUrl,
        `insert into users (id, email, name, password_hash, role, is_active, created_at, updated_at)
         select unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[]), $4, 'USER', true, now(), now()`,
        [ids, emails, names, sampleHash],
      );
    }
    await sql(databaseUrl, 'analyze users');
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    const deepOffset = Math.max(0, SEED_USERS - 1000);
    const deepId = (await sql(databaseUrl, 'select id from users order by id offset $1 limit 1', [deepOffset])).rows[0]?.['id'];
    if (typeof deepId !== 'string') throw new Error(`no user ${fmt(deepOffset)} rows deep`);
    const usersQuery =
      'query ($after: String) { users(first: 20, after: $after) { totalCount edges { node { id name email } } pageInfo { hasNextPage endCursor } } }';
    const pageLoad = (after: string | null): Promise<LoadResult> =>
      load({
        url: `${project.url}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query: usersQuery, variables: { after } }),
        connections: 10,
        seconds: SECONDS,
      });
    await pageLoad(null);
    const firstPage = await pageLoad(null);
    const deepPage = await pageLoad(encodeCursor(deepId));
    check(firstPage, 'users first page');
    check(deepPage, 'users deep page');
    out(`## 4. \`users\` on ${fmt(SEED_USERS)} users (seeded in ${fmt(seedSeconds, 1)} s), 10 connections, as ADMIN`);
    out();
    out(`| page | requests/s | p50 ms | p99 ms |`);
    out(`| --- | ---: | ---: | ---: |`);
    out(`| first page | ${fmt(firstPage.requestsPerSecond)} | ${fmt(firstPage.p50)} | ${fmt(firstPage.p99)} |`);
    out(`| ${fmt(deepOffset)} rows deep | ${fmt(deepPage.requestsPerSecond)} | ${fmt(deepPage.p50)} | ${fmt(deepPage.p99)} |`);
    out();
    out(`Deep page p50 is ${fmt(deepPage.p50 / Math.max(firstPage.p50, 1), 2)}x the first page's (goal <= 1.5x).`);
    out();

    // Memory: the peak sampled through sections 1-4, then the heap a full GC leaves (live data).
    const peak = { project: projectPeak.stop(), baseline: baselinePeak.stop() };
    const mb = (bytes: number | null): number => (bytes === null ? NaN : bytes / 1e6);
    const live = {
      project: mb((await forcedGc(project, probeDir)).heapAfterForcedGc),
      baseline: mb((await forcedGc(baseline, probeDir)).heapAfterForcedGc),
    };
    for (const server of servers.splice(0)) await server.stop();

    // 5. Start-up to ready on the embedded database, first start (creates it) and second.
    const embeddedDir = mkdtempSync(path.join(os.tmpdir(), 'auth-bench-embedded-'));
    try {
      const first = await startServer('embedded-first', projectEntry, projectEnv(undefined, embeddedDir));
      await first.stop();
      const second = await startServer('embedded-second', projectEntry, projectEnv(undefined, embeddedDir));
      await second.stop();
      out(`## 5. Start-up and memory`);
      out();
      out(`| measure | value |`);
      out(`| --- | ---: |`);
      out(`| start to ready, embedded database, first start (creates and migrates it) | ${fmt(first.readyAfterMs)} ms |`);
      out(`| start to ready, embedded database, second start | ${fmt(second.readyAfterMs)} ms |`);
      out(`| start to ready, PostgreSQL server | ${fmt(project.readyAfterMs)} ms |`);
      out(`| peak RSS of the project server through sections 1-4 (VmHWM, sampled every 0.5 s) | ${fmt(peak.project)} MiB |`);
      out(`| peak RSS of the REST baseline through sections 1-4 | ${fmt(peak.baseline)} MiB |`);
      out(`| live heap of the project server after a full GC, end of section 4 | ${fmt(live.project, 1)} MB |`);
      out(`| live heap of the REST baseline after a full GC, end of section 4 | ${fmt(live.baseline, 1)} MB |`);
      out();
    } finally {
      rmSync(embeddedDir, { recursive: true, force: true });
    }
    // 6. The goals of issue 16, one column each.
    const verdict = (ok: boolean): string => (ok ? 'met' : '**not met**');
    const meRatio = rps(rounds.project) / baseRps;
    const stormRatio = during.p99 / Math.max(idle.p99, 1);
    const loginShare = projectLogins.requestsPerSecond / physical;
    out(`## 6. Goals of issue 16`);
    out();
    const goalsFrom = lines.length;
    out(
      `| server | \`me\` vs baseline (>= 0.9x) | \`me\` p99, login storm vs idle (<= 3x) | logins/s vs cores / hash time (>= 0.8x) | peak RSS (<= 350 MiB) | live heap after GC (<= 64 MB) |`,
    );
    out(`| --- | ---: | ---: | ---: | ---: | ---: |`);
    out(
      `| project | ${fmt(meRatio, 2)}x ${verdict(meRatio >= 0.9)} | ${fmt(stormRatio, 1)}x ${verdict(stormRatio <= 3)} | ${fmt(loginShare, 2)}x ${verdict(loginShare >= 0.8)} | ${fmt(peak.project)} MiB ${verdict(peak.project <= 350)} | ${fmt(live.project, 1)} MB ${verdict(live.project <= 64)} |`,
    );
    out(
      `| REST baseline (for reference) | 1.00x | ${fmt(baselineDuring.p99 / Math.max(baselineIdle.p99, 1), 1)}x | ${fmt(baselineLogins.requestsPerSecond / physical, 2)}x | ${fmt(peak.baseline)} MiB | ${fmt(live.baseline, 1)} MB |`,
    );
    const goals = lines.slice(goalsFrom);
    out();
    out(`Whole run: ${fmt((Date.now() - started) / 1000)} s.`);
    writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), `${lines.join('\n')}\n`);
    const filled = await fillFigures(
      path.join(ROOT, 'docs', 'performance.md'),
      'bench',
      [
        `Run of ${lines[2] ?? ''}, \`BENCH_SECONDS=${String(SECONDS)}\` (full tables: [\`bench/RESULTS.md\`](../bench/RESULTS.md)):`,
        '',
        ...goals,
      ].join('\n'),
    );
    if (!filled) process.stderr.write('docs/performance.md has no <!-- figures:bench --> place: not updated\n');
  } finally {
    for (const server of servers) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(probeDir, { recursive: true, force: true });
    await sql(SERVER_URL, `drop database if exists "${dbName}" with (force)`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
