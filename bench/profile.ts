// `npm run bench:profile`: where a `me` request's time goes. Runs the project server with
// --cpu-prof under `me` load, then prints (1) a ladder of endpoints, each adding one layer,
// and (2) the CPU profile's self time by package. Writes bench/PROFILE.md.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { signup } from './lib/graphql-client';
import { load, type LoadOptions } from './lib/load';
import { ROOT, startServer } from './lib/processes';
import { sql } from './lib/util';

const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Self time per package (node_modules/<pkg>), per project file, or per V8/Node bucket. */
function selfTimeByPackage(file: string): [string, number][] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const frame = byId.get(id)?.callFrame;
    let bucket = frame?.url ?? '';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(bucket)?.[1];
    if (pkg) bucket = pkg;
    else if (bucket.startsWith('file://')) bucket = path.relative(ROOT, new URL(bucket).pathname);
    else if (bucket.startsWith('node:')) bucket = `node: ${bucket.slice(5).split('/')[0] ?? ''}`;
    else bucket = frame?.functionName ? `(${frame.functionName.replace(/[()]/g, '')})` : '(other)';
    totals.set(bucket, (totals.get(bucket) ?? 0) + delta);
  });
  return [...totals].map(([k, v]) => [k, (v / total) * 100] as [string, number]).sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const dbName = `bench_profile_${String(Date.now())}`;
  await sql(SERVER_URL, `create database "${dbName}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${dbName}`;
  const profileDir = mkdtempSync(path.join(os.tmpdir(), 'auth-profile-'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'auth-profile-data-'));
  try {
    const server = await startServer(
      'project',
      'bench/servers/project.ts',
      {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        DATA_DIR: dataDir,
        DATABASE_URL: url.toString(),
        JWT_ACCESS_SECRET: randomBytes(48).toString('base64url'),
        JWT_REFRESH_SECRET: randomBytes(48).toString('base64url'),
        MFA_ENCRYPTION_KEY: randomBytes(48).toString('base64url'),
        // Production requires the mail settings; mail is written to the log here.
        SMTP_URL: 'log',
        APP_URL: 'https://app.example.test',
        MAIL_FROM: 'no-reply@example.test',
        BCRYPT_COST: '10',
        RATE_LIMITS: 'off',
      },
      ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    );
    const { accessToken: token } = await signup(server.url, {
      email: 'profile@example.com',
      password: 'profile password 4711',
      name: 'Profile',
    });
    const json = { 'content-type': 'application/json' };
    const ladder: [string, Omit<LoadOptions, 'connections' | 'seconds'>][] = [
      ['`GET /healthz` (Express, helmet)', { url: `${server.url}/healthz` }],
      [
        '`{ __typename }` (+ CORS, JSON body, Apollo)',
        { url: `${server.url}/graphql`, method: 'POST', headers: json, body: '{"query":"{ __typename }"}' },
      ],
      [
        '`{ __typename }` with a bearer token (+ JWT verify)',
        {
          url: `${server.url}/graphql`,
          method: 'POST',
          headers: { ...json, authorization: `Bearer ${token}` },
          body: '{"query":"{ __typename }"}',
        },
      ],
      [
        '`{ me { id email name role } }` (+ viewer query, ORM, guards)',
        {
          url: `${server.url}/graphql`,
          method: 'POST',
          headers: { ...json, authorization: `Bearer ${token}` },
          body: '{"query":"{ me { id email name role } }"}',
        },
      ],
    ];
    const lines = [
      '# Where a `me` request spends its time',
      '',
      `${new Date().toISOString()} · ${String(os.availableParallelism())} cores · Node ${process.version}`,
      '',
    ];
    lines.push('| endpoint | requests/s | µs per request | added by this layer |', '| --- | ---: | ---: | ---: |');
    let previous = 0;
    for (const [name, options] of ladder) {
      await load({ ...options, connections: 50, seconds: 2 });
      const result = await load({ ...options, connections: 50, seconds: SECONDS });
      const micros = 1e6 / result.requestsPerSecond;
      lines.push(
        `| ${name} | ${String(Math.round(result.requestsPerSecond))} | ${String(Math.round(micros))} | ${previous ? `+${String(Math.round(micros - previous))}` : ''} |`,
      );
      previous = micros;
    }
    await server.stop();
    const profiles = readdirSync(profileDir).map((f) => path.join(profileDir, f));
    const main = profiles.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (main === undefined) throw new Error(`no CPU profile in ${profileDir}`);
    lines.push('', 'CPU profile of the server process (`--cpu-prof`) over the whole ladder, self time by package:', '');
    lines.push('| where | share of samples |', '| --- | ---: |');
    for (const [bucket, share] of selfTimeByPackage(main).slice(0, 25)) lines.push(`| ${bucket} | ${share.toFixed(1)}% |`);
    const text = `${lines.join('\n')}\n`;
    process.stdout.write(text);
    writeFileSync(path.join(ROOT, 'bench', 'PROFILE.md'), text);
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    await sql(SERVER_URL, `drop database if exists "${dbName}" with (force)`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
