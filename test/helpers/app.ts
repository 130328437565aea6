import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import { createApp, type App } from '../../src/app';
import { loadConfig, type Config } from '../../src/config/config';
import { openDatabase } from '../../src/db/orm';
import { createLogger } from '../../src/logger';

/** Secrets used by every test app; tests that forge tokens sign with these or with others. */
export const TEST_ACCESS_SECRET = 'test-access-secret-0123456789-abcdefghijklmnop';
export const TEST_REFRESH_SECRET = 'test-refresh-secret-0123456789-abcdefghijklmnop';
export const TEST_MFA_KEY = 'test-mfa-encryption-key-0123456789-abcdefghijklmnop';

export interface TestApp {
  readonly url: string;
  /** The METRICS_PORT listener's base URL, when the app has one. */
  readonly metricsUrl: string | undefined;
  readonly config: Config;
  readonly app: App;
  /** Where the embedded database lives (DATA_DIR), kept for restarts. */
  readonly dataDir: string;
  /** The PostgreSQL database of this app, when the suite runs on a server. */
  readonly databaseUrl: string | undefined;
  stop(): Promise<void>;
}

/** True when the suite runs against a PostgreSQL server (DATABASE_URL set), false on PGlite. */
export const onServer = Boolean(process.env['DATABASE_URL']);

/** The PostgreSQL server of the suite, or the local one when the suite runs on PGlite. */
export const SERVER_DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: SERVER_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * The embedded database with every migration applied, built once per test run (by the first worker
 * that needs it) under the path test/helpers/global-setup.ts chose, and copied for each app:
 * PGlite's initdb plus the migrations take seconds, a copy well under one.
 */
async function pgliteTemplate(): Promise<string | undefined> {
  const dir = process.env['PGLITE_TEMPLATE_DIR'];
  if (!dir) return undefined;
  const ready = path.join(dir, 'pglite');
  if (existsSync(ready)) return ready;
  const building = mkdtempSync(`${dir}.build-`);
  const orm = await openDatabase({ databaseUrl: undefined, dataDir: building }, createLogger({ logLevel: 'silent' }));
  await orm.close(true);
  try {
    renameSync(building, dir); // atomic: the first complete template wins
  } catch {
    rmSync(building, { recursive: true, force: true }); // another worker finished first
  }
  return ready;
}

/**
 * A fresh database for one app: a new PostgreSQL database, or a new PGlite directory holding a copy
 * of the migrated template (`empty`: nothing, so the app runs initdb and every migration itself).
 */
export async function freshDatabase(
  options: { empty?: boolean; server?: boolean } = {},
): Promise<{ dataDir: string; databaseUrl: string | undefined; drop(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-test-'));
  if (!onServer && !options.server) {
    const template = options.empty ? undefined : await pgliteTemplate();
    if (template) cpSync(template, path.join(dataDir, 'pglite'), { recursive: true });
    return {
      dataDir,
      databaseUrl: undefined,
      drop: async () => {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database "${name}"`);
  const url = new URL(SERVER_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    dataDir,
    databaseUrl: url.toString(),
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await adminQuery(`drop database if exists "${name}" with (force)`);
    },
  };
}

export interface StartOptions {
  /** Extra environment variables for loadConfig. */
  readonly env?: Record<string, string>;
  /** When given, the app logs (at LOG_LEVEL) into this array, one JSON line per entry. */
  readonly logLines?: string[];
  /** Reuse an existing database instead of a fresh one (restart tests). */
  readonly database?: { dataDir: string; databaseUrl: string | undefined };
  /** A fresh database on the PostgreSQL server even when the suite runs on PGlite (server-only behaviour). */
  readonly server?: boolean;
}

export function testEnv(
  database: { dataDir: string; databaseUrl: string | undefined },
  env: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: database.dataDir,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    JWT_ACCESS_SECRET: TEST_ACCESS_SECRET,
    JWT_REFRESH_SECRET: TEST_REFRESH_SECRET,
    MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
    // Mail goes to the log unless a test brings its own SMTP server (production requires these three).
    SMTP_URL: 'log',
    APP_URL: 'http://localhost:5173',
    MAIL_FROM: 'no-reply@example.test',
    BCRYPT_COST: '4',
    PORT: '0',
    // Suites create many accounts from one address; test/abuse turns the limits on explicitly.
    RATE_LIMITS: 'off',
    ...env,
  };
}

/** A log destination that keeps every line, for tests that read what the app logged. */
function linesInto(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
}

/** Starts the real app on an ephemeral port over a real database. */
export async function startTestApp(options: StartOptions = {}): Promise<TestApp> {
  const fresh = options.database ? undefined : await freshDatabase({ server: options.server });
  const database = options.database ?? { dataDir: fresh?.dataDir ?? '', databaseUrl: fresh?.databaseUrl };
  const config = loadConfig(testEnv(database, options.env));
  const logger = options.logLines ? createLogger(config, linesInto(options.logLines)) : createLogger(config);
  const app = await createApp(config, logger);
  await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = app.httpServer.address() as AddressInfo;
  const { metricsServer } = app;
  if (metricsServer) await new Promise<void>((resolve) => metricsServer.listen(0, '127.0.0.1', resolve));
  let stopped = false;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    metricsUrl: metricsServer ? `http://127.0.0.1:${String((metricsServer.address() as AddressInfo).port)}` : undefined,
    config,
    app,
    dataDir: database.dataDir,
    databaseUrl: database.databaseUrl,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await app.stop();
      await fresh?.drop();
    },
  };
}

/**
 * For afterAll: stops each app. Jest runs afterAll even when the beforeAll that starts a suite's apps
 * failed part way, so an app may not exist yet; those that do are all stopped.
 */
export async function stopApps(...apps: (Pick<TestApp, 'stop'> | undefined)[]): Promise<void> {
  await Promise.all(apps.filter((app) => app !== undefined).map((app) => app.stop()));
}

/** For afterAll: drops each database, as stopApps stops apps; one the beforeAll did not create yet is skipped. */
export async function dropDatabases(...databases: ({ drop(): Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(databases.filter((database) => database !== undefined).map((database) => database.drop()));
}
