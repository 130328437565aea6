// `npm run bench:profile`: where a `me` request spends its CPU. Writes bench/PROFILE.md with
//
// 1. a ladder of servers, each adding one layer up to the full `me`, next to the REST baseline's
//    `GET /users/me`: for each, the CPU time per request of the server process (utime + stime of
//    all its threads, /proc/<pid>/stat) and of the PostgreSQL backends serving it (their pids
//    from pg_stat_activity, when the database server runs on this machine), over a measured load
//    from autocannon in a separate process. CPU per request does not depend on what else the
//    machine runs the way requests/s do (those are printed too, for the record);
// 2. a `--cpu-prof` profile of the project server under `me` load only (the samples of the
//    measured window), its CPU time grouped by package, Node internals, GC and project src.
//
// BENCH_SECONDS (default 8) sets each measured load; DATABASE_URL the PostgreSQL server (a fresh
// database, dropped after).
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newId } from '../src/db/uuid';
import { backendPids, snapshot, spent } from './lib/cpu';
import { summariseProfile } from './lib/cpu-profile';
import { fillFigures } from './lib/doc-figures';
import { GcTrace, since, type GcTotals } from './lib/gc-trace';
import { signup } from './lib/graphql-client';
import { load, type LoadOptions, type LoadResult } from './lib/load';
import { ROOT, startServer, type Server } from './lib/processes';
import { fmt, sql } from './lib/util';
import { productionEnv } from './lib/production-env';

const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const CONNECTIONS = 50;
const PASSWORD = 'profile password 4711';
const ACCESS_SECRET = randomBytes(48).toString('base64url');

function projectEnv(databaseUrl: string, dataDir: string): Record<string, string> {
  return productionEnv({ dataDir, databaseUrl, bcryptCost: 10, accessSecret: ACCESS_SECRET });
}

interface Rung {
  readonly name: string;
  readonly server: Server;
  /** Whether the PostgreSQL backends of the bench database count for this rung. */
  readonly database: boolean;
  readonly request: Omit<LoadOptions, 'connections' | 'seconds'>;
  /** The server's collector trace (`--trace-gc-nvp`), for the servers started with it. */
  readonly gc?: GcTrace;
}

interface Measured {
  readonly result: LoadResult;
  readonly serverMicros: number;
  readonly databaseMicros: number | undefined;
  /** What the collector did during the measured load, when the rung has a trace. */
  readonly gc: GcTotals | undefined;
}

async function measure(rung: Rung, databaseName: string): Promise<Measured> {
  await load({ ...rung.request, connections: CONNECTIONS, seconds: 2 }); // warm-up: JIT, pools
  const serverPid = rung.server.child.pid ?? -1;
  const backends = rung.database ? await backendPids(SERVER_URL, databaseName) : [];
  const before = snapshot([serverPid, ...backends]);
  const gcBefore = rung.gc?.snapshot();
  const result = await load({ ...rung.request, connections: CONNECTIONS, seconds: SECONDS });
  const gcAfter = rung.gc?.snapshot();
  const after = snapshot([serverPid, ...(rung.database ? await backendPids(SERVER_URL, databaseName) : [])]);
  if (result.errors > 0 || result.non2xx > 0 || result.total === 0) {
    throw new Error(`${rung.name}: ${String(result.errors)} errors, ${String(result.non2xx)} non-2xx of ${String(result.total)}`);
  }
  const serverOnly = (snap: Map<number, number>): Map<number, number> => new Map([...snap].filter(([pid]) => pid === serverPid));
  const backendsOnly = (snap: Map<number, number>): Map<number, number> => new Map([...snap].filter(([pid]) => pid !== serverPid));
  return {
    result,
    serverMicros: spent(serverOnly(before), serverOnly(after)) / result.total,
    databaseMicros: rung.database && backends.length > 0 ? spent(backendsOnly(before), backendsOnly(after)) / result.total : undefined,
    gc: gcBefore && gcAfter ? since(gcBefore, gcAfter) : undefined,
  };
}

async function main(): Promise<void> {
  const dbName = `bench_profile_${String(Date.now())}`;
  await sql(SERVER_URL, `create database "${dbName}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const profileDir = mkdtempSync(path.join(os.tmpdir(), 'auth-profile-'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'auth-profile-data-'));
  const servers: Server[] = [];
  const started = async (...args: Parameters<typeof startServer>): Promise<Server> => {
    const server = await startServer(...args);
    servers.push(server);
    return server;
  };
  try {
    const env = projectEnv(databaseUrl, dataDir);
    // The project and the baseline report their collections (one line each, on stdout).
    const projectGc = new GcTrace();
    const baselineGc = new GcTrace();
    const project = await started('project', 'bench/servers/project.ts', env, ['--trace-gc-nvp'], { onStdout: projectGc.onStdout });
    const { accessToken: token } = await signup(project.url, { email: 'profile@example.com', password: PASSWORD, name: 'Profile' });
    const viewerInMemory = await started('project, viewer from memory', 'bench/servers/project.ts', {
      ...env,
      BENCH_VIEWER_FROM_MEMORY: 'true',
    });
    const apolloOnly = await started('project, GRAPHQL_JIT=false', 'bench/servers/project.ts', { ...env, GRAPHQL_JIT: 'false' });
    const plain = await started('node:http', 'bench/servers/layers.ts', { LAYER: 'plain' });
    const withExpress = await started('express', 'bench/servers/layers.ts', { LAYER: 'express' });
    const baseline = await started(
      'baseline',
      'bench/servers/baseline.ts',
      { DATABASE_URL: databaseUrl, JWT_ACCESS_SECRET: ACCESS_SECRET },
      ['--trace-gc-nvp'],
      { onStdout: baselineGc.onStdout },
    );
    await sql(
      databaseUrl,
      `insert into users (id, email, name, password_hash, role, is_active, created_at, updated_at) values ($1, 'baseline@example.com', 'Baseline', $2, 'USER', true, now(), now())`,
      [newId(), bcrypt.hashSync(PASSWORD, 4)],
    );
    const baselineLogin = await fetch(`${baseline.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'baseline@example.com', password: PASSWORD }),
    });
    const baselineToken = ((await baselineLogin.json()) as { accessToken: string }).accessToken;

    const json = { 'content-type': 'application/json' };
    const me = (server: Server): Rung['request'] => ({
      url: `${server.url}/graphql`,
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: '{"query":"{ me { id email name role } }"}',
    });
    const rungs: Rung[] = [
      { name: 'plain `node:http`, fixed JSON answer', server: plain, database: false, request: { url: plain.url } },
      {
        name: 'Express 5 + the security headers (helmet), fixed JSON answer',
        server: withExpress,
        database: false,
        request: { url: withExpress.url },
      },
      {
        name: 'project: `{ __typename }` (+ request id, access log, CORS, JSON body, limits; a reused query, past Apollo)',
        server: project,
        database: false,
        request: { url: `${project.url}/graphql`, method: 'POST', headers: json, body: '{"query":"{ __typename }"}' },
        gc: projectGc,
      },
      {
        name: 'project: `me` without the database (+ JWT verify, guards, resolver; viewer from memory)',
        server: viewerInMemory,
        database: true,
        request: me(viewerInMemory),
      },
      {
        name: 'project: full `me` (+ the viewer query, its row mapped)',
        server: project,
        database: true,
        request: me(project),
        gc: projectGc,
      },
    ];
    const baselineRung: Rung = {
      name: 'REST baseline: `GET /users/me` (Express + jsonwebtoken + pg)',
      server: baseline,
      database: true,
      request: { url: `${baseline.url}/users/me`, headers: { authorization: `Bearer ${baselineToken}` } },
      gc: baselineGc,
    };

    const apolloRung: Rung = {
      name: "for comparison: `{ __typename }` through Apollo Server's request pipeline (`GRAPHQL_JIT=false`: no reused queries)",
      server: apolloOnly,
      database: false,
      request: { url: `${apolloOnly.url}/graphql`, method: 'POST', headers: json, body: '{"query":"{ __typename }"}' },
    };

    const lines = [
      '# Where a `me` request spends its CPU',
      '',
      `${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} · ${String(os.availableParallelism())} cores · Node ${process.version} · load average ${fmt(os.loadavg()[0] ?? 0, 1)} at the start`,
      '',
      `Each rung: ${String(SECONDS)} s of autocannon at ${String(CONNECTIONS)} connections from a separate process, after 2 s of warm-up. CPU per request: utime + stime of the server process (every thread) and of the PostgreSQL backends connected to the bench database, from \`/proc/<pid>/stat\`, divided by the requests answered. Requests/s depend on the whole machine (the load generator shares it); CPU per request much less.`,
      '',
    ];
    const ladderFrom = lines.length;
    lines.push(
      '| layer | server CPU µs/request | added by this layer | PostgreSQL CPU µs/request | requests/s |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    let previous: number | undefined;
    const collected: [Rung, Measured][] = [];
    const row = (rung: Rung, m: Measured, added: string): string =>
      `| ${rung.name} | ${fmt(m.serverMicros)} | ${added} | ${m.databaseMicros === undefined ? (rung.database ? 'n/a' : '') : fmt(m.databaseMicros)} | ${fmt(m.result.requestsPerSecond)} |`;
    for (const rung of rungs) {
      const m = await measure(rung, dbName);
      collected.push([rung, m]);
      lines.push(row(rung, m, previous === undefined ? '' : `${m.serverMicros >= previous ? '+' : ''}${fmt(m.serverMicros - previous)}`));
      process.stdout.write(`${lines.at(-1) ?? ''}\n`);
      previous = m.serverMicros;
    }
    const fullMe = previous ?? NaN;
    const base = await measure(baselineRung, dbName);
    collected.push([baselineRung, base]);
    lines.push(row(baselineRung, base, ''));
    lines.push(row(apolloRung, await measure(apolloRung, dbName), ''));
    lines.push(
      '',
      `The project's full \`me\` costs ${fmt(fullMe / base.serverMicros, 1)}x the baseline's server CPU per request (at equal CPU, \`me\` would serve ${fmt(base.serverMicros / fullMe, 2)}x the baseline's requests/s). "n/a": the PostgreSQL server is not on this machine, so its backends' CPU cannot be read.`,
    );
    lines.push(
      '',
      'The young generation under that load (`--trace-gc-nvp` of the same servers): what a request allocates should die young, so its scavenges promote next to nothing to the old generation.',
      '',
      '| layer | scavenges | promoted KB/request | scavenge pause µs/request | full collections |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...collected.flatMap(([rung, m]) =>
        m.gc
          ? [
              `| ${rung.name} | ${fmt(m.gc.scavenges)} | ${fmt(m.gc.promotedBytes / 1024 / m.result.total, 2)} | ${fmt((m.gc.scavengePauseMs * 1000) / m.result.total, 1)} | ${fmt(m.gc.fullCollections)} |`,
            ]
          : [],
      ),
    );
    const ladder = lines.slice(ladderFrom);
    for (const server of servers.splice(0)) await server.stop();

    // 2. The profile: a fresh project server with --cpu-prof, only the measured `me` window kept.
    const profiled = await started('project (--cpu-prof)', 'bench/servers/project.ts', env, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
    await load({ ...me(profiled), connections: CONNECTIONS, seconds: 2 });
    const from = Number(process.hrtime.bigint() / 1000n);
    const result = await load({ ...me(profiled), connections: CONNECTIONS, seconds: SECONDS });
    const to = Number(process.hrtime.bigint() / 1000n);
    for (const server of servers.splice(0)) await server.stop();
    const file = readdirSync(profileDir)
      .map((f) => path.join(profileDir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (file === undefined) throw new Error(`no CPU profile in ${profileDir}`);
    const summary = summariseProfile(file, ROOT, from, to);
    lines.push(
      '',
      `## CPU profile of the project server under \`me\` load`,
      '',
      `\`node --cpu-prof\`, ${fmt(result.requestsPerSecond)} requests/s, ${summary.windowed ? 'the samples of the measured window only (start-up and warm-up left out)' : 'the whole profile (no sample fell in the measured window)'}: ${fmt(summary.cpuMicros / 1000)} ms of CPU on the main thread, idle ${fmt(summary.idleShare * 100)}% of the window. Native frames (socket writes, builtins) count for the JavaScript that called them.`,
      '',
      '| where | share of CPU |',
      '| --- | ---: |',
      ...summary.groups.map(([group, share]) => `| ${group} | ${fmt(share * 100, 1)}% |`),
      '',
      '| package, Node module or file | group | share of CPU |',
      '| --- | --- | ---: |',
      ...summary.buckets.slice(0, 30).map(([bucket, share]) => `| ${bucket.name} | ${bucket.group} | ${fmt(share * 100, 1)}% |`),
    );
    const text = `${lines.join('\n')}\n`;
    process.stdout.write(`\n${text}`);
    writeFileSync(path.join(ROOT, 'bench', 'PROFILE.md'), text);
    const filled = await fillFigures(
      path.join(ROOT, 'docs', 'performance.md'),
      'profile',
      [
        `Run of ${lines[2] ?? ''}, \`BENCH_SECONDS=${String(SECONDS)}\` (the profile by package: [\`bench/PROFILE.md\`](../bench/PROFILE.md)):`,
        '',
        ...ladder,
        '',
        'CPU profile of the project server under `me` load, by group:',
        '',
        '| where | share of CPU |',
        '| --- | ---: |',
        ...summary.groups.map(([group, share]) => `| ${group} | ${fmt(share * 100, 1)}% |`),
      ].join('\n'),
    );
    if (!filled) process.stderr.write('docs/performance.md has no <!-- figures:profile --> place: not updated\n');
  } finally {
    for (const server of servers) await server.stop();
    rmSync(profileDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    await sql(SERVER_URL, `drop database if exists "${dbName}" with (force)`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
