// `npm run bench:flood`: a login flood against one instance. FLOOD_CONNECTIONS (default 2,000)
// clients, each on its own connection, send one login at once and give up after 10 s, as the
// clients of a busy mobile app do. Prints, per outcome (status and code, a reset connection, a
// client timeout), how many and how long they took. The goal: fast refusals or bounded latency,
// no client timeouts. DATABASE_URL picks the PostgreSQL server (a fresh database, dropped after).
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './lib/processes';
import { fmt, sql } from './lib/util';
import { productionEnv } from './lib/production-env';

const CONNECTIONS = Number(process.env['FLOOD_CONNECTIONS'] ?? 2000);
const CLIENT_TIMEOUT_MS = 10_000;
const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const EMAIL = 'flood@example.com';
const PASSWORD = 'bench password 4711';
const LOGIN = JSON.stringify({
  query: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
  variables: { input: { email: EMAIL, password: PASSWORD } },
});

interface Outcome {
  readonly outcome: string;
  readonly ms: number;
}

function login(port: number): Promise<Outcome> {
  const started = performance.now();
  const done = (outcome: string): Outcome => ({ outcome, ms: performance.now() - started });
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        agent: false,
        timeout: CLIENT_TIMEOUT_MS,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(LOGIN) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.once('end', () => {
          let code = 'unreadable body';
          try {
            const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
            code = body.errors?.[0]?.extensions?.code ?? 'OK';
          } catch {
            // keeps 'unreadable body'
          }
          resolve(done(`${String(res.statusCode)} ${code}`));
        });
        res.once('error', (error: NodeJS.ErrnoException) => {
          resolve(done(error.code ?? error.message));
        });
      },
    );
    req.once('timeout', () => {
      req.destroy(new Error('client timeout (10 s)'));
    });
    req.once('error', (error: NodeJS.ErrnoException) => {
      resolve(done(error.code ?? error.message));
    });
    req.end(LOGIN);
  });
}

async function main(): Promise<void> {
  const dbName = `flood_${String(Date.now())}`;
  await sql(SERVER_URL, `create database "${dbName}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${dbName}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'auth-flood-'));
  const server = await startServer(
    'project',
    'bench/servers/project.ts',
    productionEnv({ dataDir, databaseUrl: url.toString(), bcryptCost: 12 }),
  );
  try {
    const signup = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
        variables: { input: { email: EMAIL, password: PASSWORD, name: 'Flood' } },
      }),
    });
    if (!signup.ok) throw new Error(`signup failed: ${String(signup.status)}`);
    const port = Number(new URL(server.url).port);
    process.stdout.write(
      `${String(CONNECTIONS)} logins at once, bcrypt cost 12, ${String(os.availableParallelism())} cores, load average ${fmt(os.loadavg()[0] ?? 0, 1)}\n\n`,
    );
    const outcomes = await Promise.all(Array.from({ length: CONNECTIONS }, () => login(port)));
    const groups = new Map<string, number[]>();
    for (const { outcome, ms } of outcomes) groups.set(outcome, [...(groups.get(outcome) ?? []), ms]);
    process.stdout.write('| outcome | clients | p50 ms | max ms |\n| --- | --- | --- | --- |\n');
    for (const [outcome, times] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
      times.sort((a, b) => a - b);
      const p50 = times[Math.floor(times.length / 2)] ?? 0;
      const max = times[times.length - 1] ?? 0;
      process.stdout.write(`| ${outcome} | ${String(times.length)} | ${fmt(p50)} | ${fmt(max)} |\n`);
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await sql(SERVER_URL, `drop database if exists "${dbName}" with (force)`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
